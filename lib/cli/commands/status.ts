// numaplace status: the kernel's allocation counters per node (numastat), or where
// the memory of processes lives, by pid or by name (numastat -p).
import { operandsText, processText } from '../../checks';
import { nodeCounters, type ProcessMemory } from '../../numa-stat';
import { type MappingKind, placementOf } from '../../process';
import { defineCommand, JSON_OPTION, NO_COLOR_OPTION } from '../command';
import { formatBar, formatBytes, formatTable, type Segment, toJson, useColour } from '../format';
import { pidsMatching, readEach } from '../processes';

const BAR_WIDTH = 40;

const KINDS: { kind: MappingKind; letter: string; colour: number }[] = [
  { kind: 'heap', letter: 'h', colour: 33 },
  { kind: 'anon', letter: 'a', colour: 36 },
  { kind: 'stack', letter: 's', colour: 35 },
  { kind: 'file', letter: 'f', colour: 32 },
  { kind: 'huge', letter: 'H', colour: 34 },
  { kind: 'other', letter: 'o', colour: 90 },
];

/** A bar per node of a process's memory (a placement, or numaStat()'s process), split by kind of mapping. */
export function formatStatus(placement: ProcessMemory, name: string, colour: boolean): string {
  const nodes = [...placement.bytesByNode.keys()].sort((a, b) => a - b);
  const total = [...placement.bytesByNode.values()].reduce((sum, bytes) => sum + bytes, 0);
  const largest = Math.max(0, ...placement.bytesByNode.values());
  const lines = [`pid ${placement.pid} (${name}) · ${formatBytes(total)} resident on ${nodes.length} node(s)`];
  for (const node of nodes) {
    const segments: Segment[] = KINDS.map(({ kind, letter, colour: sgr }) => ({
      value: placement.bytesByKind[kind].get(node) ?? 0,
      letter,
      colour: sgr,
    }));
    const bytes = placement.bytesByNode.get(node) ?? 0;
    const share = total > 0 ? `${Math.round((bytes / total) * 100)}%` : '';
    lines.push(
      `node ${String(node).padEnd(3)} ${formatBar(segments, largest, BAR_WIDTH, colour)}  ${formatBytes(bytes).padStart(10)}  ${share.padStart(4)}`,
    );
  }
  const legend = KINDS.map(({ kind, letter, colour: sgr }) => `${colour ? `\x1b[${sgr}m█\x1b[0m` : letter} ${kind}`);
  lines.push(`         ${legend.join(' · ')}`);
  return lines.join('\n');
}

function processStatus(fn: string, pids: number[], byName: boolean, json: boolean, colour: boolean): string {
  const read = readEach(pids, byName, (pid) => placementOf(fn, pid));
  if (json) {
    const reports = read.map((reading) => {
      if ('error' in reading) return { pid: reading.pid, command: reading.command, error: { code: reading.error.code, message: reading.error.message } };
      const { mappings, ...totals } = reading.value;
      return { ...totals, command: reading.command, mappings: mappings.length };
    });
    return toJson(reports.length === 1 && !byName ? reports[0] : reports);
  }
  return read
    .map((reading) => ('error' in reading ? `pid ${reading.pid} (${reading.command}): ${reading.error.message}` : formatStatus(reading.value, reading.command, colour)))
    .join('\n\n');
}

/** Each node's allocation counters (numastat, the numaStat() reader), a row per counter. */
function systemStatus(fn: string, json: boolean): string {
  const counters = nodeCounters(fn);
  if (json) return toJson(counters);
  const nodes = [...counters.keys()];
  const names = Object.keys(counters.get(nodes[0]) ?? {});
  return formatTable([
    ['', ...nodes.map((node) => `node${node}`)],
    ...names.map((name) => [name, ...nodes.map((node) => String(counters.get(node)?.[name] ?? 0))]),
  ]);
}

export const statusCommand = defineCommand({
  name: 'status',
  summary: "allocation counters per node, or a process's memory (numastat)",
  usage: ['status [<pid> | <name>] [--json] [--no-color]'],
  description: `  Where the memory of process <pid> lives (from /proc/<pid>/numa_maps, like
  numastat -p): one bar per node, split by kind of mapping. A <name> that is
  not a number selects every process with it in its command line, but
  numaplace and the processes that started it.
  Without a process: the kernel's allocation counters per node (numa_hit,
  numa_miss, …, like numastat), in page allocations: a huge page counts once.`,
  options: { ...JSON_OPTION, ...NO_COLOR_OPTION },
  check: (values, operands, fn) => {
    const [typed] = operandsText(operands, fn, 0, 1, 'one process id or command name, or none');
    const target = typed === undefined ? undefined : processText(typed, fn);
    return { target, json: values.json === true, plain: values['no-color'] === true };
  },
  run: ({ target, json, plain }, { fn }) => {
    if (target === undefined) return { text: systemStatus(fn, json) };
    const colour = useColour(process.stdout, plain);
    if ('pid' in target) return { text: processStatus(fn, [target.pid], false, json, colour) };
    return { text: processStatus(fn, pidsMatching(fn, target.name), true, json, colour) };
  },
});
