import { readFileSync } from 'node:fs';
import { type MappingKind, processPlacement, type ProcessPlacement } from '../process';
import { formatBar, formatBytes, type Segment, toJson } from './format';

export const STATUS_HELP = `numaplace status <pid> [--json] [--no-color]

  Where the memory of process <pid> lives (from /proc/<pid>/numa_maps, like
  numastat -p): one bar per node, split by kind of mapping.`;

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

export function statusCommand(pid: number, json: boolean, colour: boolean): string {
  const placement = processPlacement(pid);
  if (json) {
    const { mappings, ...totals } = placement;
    return toJson({ ...totals, command: commandName(pid), mappings: mappings.length });
  }
  return formatStatus(placement, commandName(pid), colour);
}
