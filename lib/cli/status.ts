import { readdirSync, readFileSync } from 'node:fs';
import { type MappingKind, processPlacement, type ProcessPlacement } from '../process';
import { numaStat } from '../numa-stat';
import { formatBar, formatBytes, formatTable, type Segment, toJson } from './format';

export const STATUS_HELP = `numaplace status [<pid> | <name>] [--json] [--no-color]

  Where the memory of process <pid> lives (from /proc/<pid>/numa_maps, like
  numastat -p): one bar per node, split by kind of mapping. A <name> that is
  not a number selects every process with it in its command line.
  Without a process: the kernel's allocation counters per node, in pages
  (numa_hit, numa_miss, …, like numastat).`;

const BAR_WIDTH = 40;

const KINDS: { kind: MappingKind; letter: string; colour: number }[] = [
  { kind: 'heap', letter: 'h', colour: 33 },
  { kind: 'anon', letter: 'a', colour: 36 },
  { kind: 'stack', letter: 's', colour: 35 },
  { kind: 'file', letter: 'f', colour: 32 },
  { kind: 'huge', letter: 'H', colour: 34 },
  { kind: 'other', letter: 'o', colour: 90 },
];

function commandName(pid: number): string {
  try {
    return readFileSync(`/proc/${pid === 0 ? 'self' : pid}/comm`, 'utf8').trim();
  } catch {
    return '?';
  }
}

export function formatStatus(placement: ProcessPlacement, name: string, colour: boolean): string {
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

/** The processes (not this one) with `pattern` in their command line, like numastat -p <pattern>. */
export function pidsMatching(pattern: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ').includes(pattern)) pids.push(Number(entry));
    } catch {
      // The process exited meanwhile.
    }
  }
  return pids.sort((a, b) => a - b);
}

export function statusCommand(pids: number[], json: boolean, colour: boolean): string {
  const placements = pids.map((pid) => ({ pid, placement: processPlacement(pid), command: commandName(pid) }));
  if (json) {
    const reports = placements.map(({ placement, command }) => {
      const { mappings, ...totals } = placement;
      return { ...totals, command, mappings: mappings.length };
    });
    return toJson(reports.length === 1 ? reports[0] : reports);
  }
  return placements.map(({ placement, command }) => formatStatus(placement, command, colour)).join('\n\n');
}

/** Each node's allocation counters (/sys/devices/system/node/node<N>/numastat), in pages. */
export function nodeCounters(): Map<number, Map<string, number>> {
  return new Map([...numaStat().nodes].map(([node, counters]) => [node, new Map(Object.entries(counters) as [string, number][])]));
}

export function systemStatusCommand(json: boolean): string {
  const counters = nodeCounters();
  if (json) return toJson(counters);
  const nodes = [...counters.keys()];
  const names = [...(counters.get(nodes[0])?.keys() ?? [])];
  return formatTable([
    ['', ...nodes.map((node) => `node${node}`)],
    ...names.map((name) => [name, ...nodes.map((node) => String(counters.get(node)?.get(name) ?? 0))]),
  ]);
}
