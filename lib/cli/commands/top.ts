// numaplace top: numaStat() live — a process's memory per node, and the
// nodes' allocation counters and the system's migration and balancing
// counters as rates between two readings (numaStatDelta) — redrawn in place on
// a terminal, a frame per interval elsewhere.
import { setTimeout as sleep } from 'node:timers/promises';
import { exclusiveOptions, integerText, numberText, operandsText, pidText } from '../../checks';
import { type NodeCounters, type NumaStat, numaStatDelta, numaStatOf, type ProcessMemory, type VmCounters } from '../../numa-stat';
import { defineCommand, flag, JSON_OPTION, NO_COLOR_OPTION, valued } from '../command';
import { formatBar, formatBytes, formatTable, type Segment, toJson, useColour } from '../format';
import { commandName } from '../processes';
import { formatStatus } from './status';

// An interval short enough to watch a migration, long enough that reading
// numa_maps (milliseconds for thousands of mappings) stays a small share of it.
const MIN_INTERVAL = 0.1;
const MAX_INTERVAL = 3600;
const MAX_FRAMES = 1_000_000;
const BAR_WIDTH = 40;

/** One frame: rates between two numaStat() readings, and the process's memory at the later one. */
export interface TopFrame {
  /** When the later reading was taken (ISO 8601). */
  time: string;
  /** Seconds between the two readings the rates are taken over. */
  seconds: number;
  /** The counters per second over `seconds`, by numaStat()'s names: each node's allocation counters (numastat) and the system's migration and balancing counters (/proc/vmstat). */
  perSecond: { nodes: Map<number, NodeCounters>; vmstat: VmCounters };
  /** With a pid: its memory per node (bytes) at the later reading, its command, what it gained per node per second, and pages NUMA balancing moved of it per second (null where the kernel shows no faults). */
  process?: ProcessMemory & { command: string; mappings: number; bytesByNodePerSecond: Map<number, number>; pagesMigratedPerSecond: number | null };
}

function perSecond(counters: Record<string, number | undefined>, seconds: number): Record<string, number> {
  return Object.fromEntries(Object.entries(counters).flatMap(([name, value]) => (value === undefined ? [] : [[name, value / seconds]])));
}

/** The frame of two readings (of the process whose command is `command`, where they have one). */
export function topFrame(before: NumaStat, after: NumaStat, command: string): TopFrame {
  const delta = numaStatDelta(before, after);
  const { seconds } = delta;
  const frame: TopFrame = {
    time: new Date(performance.timeOrigin + after.readAt).toISOString(),
    seconds,
    perSecond: {
      nodes: new Map([...delta.nodes].map(([node, counters]) => [node, perSecond(counters, seconds)])),
      vmstat: perSecond(delta.vmstat, seconds),
    },
  };
  if (after.process && delta.process) {
    const { pid, mappings, bytesByKind, bytesByNode } = after.process;
    const { pagesMigrated } = delta.process;
    frame.process = {
      pid,
      command,
      mappings,
      bytesByKind,
      bytesByNode,
      bytesByNodePerSecond: new Map([...delta.process.bytesByNode].map(([node, bytes]) => [node, bytes / seconds])),
      pagesMigratedPerSecond: pagesMigrated === null ? null : pagesMigrated / seconds,
    };
  }
  return frame;
}

/** A rate as read at a glance: whole numbers from 100, one decimal below. */
export function formatRate(rate: number): string {
  if (rate === 0) return '0';
  return Math.abs(rate) >= 100 ? String(Math.round(rate)) : rate.toFixed(1);
}

function signedBytes(bytes: number): string {
  return `${bytes < 0 ? '-' : '+'}${formatBytes(Math.round(Math.abs(bytes)))}`;
}

function processSection(memory: NonNullable<TopFrame['process']>, colour: boolean): string[] {
  const changed = [...memory.bytesByNodePerSecond].filter(([, bytes]) => Math.round(bytes) !== 0);
  const change = changed.length === 0 ? 'no change' : changed.map(([node, bytes]) => `node ${node} ${signedBytes(bytes)}`).join(' · ');
  const migrated = memory.pagesMigratedPerSecond === null ? '' : ` · NUMA balancing moved ${formatRate(memory.pagesMigratedPerSecond)} of its pages`;
  return [formatStatus(memory, memory.command, colour), `per second: ${change}${migrated}`, ''];
}

/** A bar per node of its page allocations per second: for threads on that node (local_node), or on others (other_node). */
function allocationSection(nodes: Map<number, NodeCounters>, colour: boolean): string[] {
  const allocations = (counters: NodeCounters) => (counters.local_node ?? 0) + (counters.other_node ?? 0);
  const largest = Math.max(0, ...[...nodes.values()].map(allocations));
  const bars = [...nodes].map(([node, counters]) => {
    const segments: Segment[] = [
      { value: counters.local_node ?? 0, letter: 'l', colour: 32 },
      { value: counters.other_node ?? 0, letter: 'o', colour: 31 },
    ];
    return `node ${String(node).padEnd(3)} ${formatBar(segments, largest, BAR_WIDTH, colour)}  ${formatRate(allocations(counters)).padStart(10)}`;
  });
  const legend = [`${colour ? '\x1b[32m█\x1b[0m' : 'l'} local_node`, `${colour ? '\x1b[31m█\x1b[0m' : 'o'} other_node`];
  const ids = [...nodes.keys()];
  const names = Object.keys(nodes.get(ids[0]) ?? {});
  const table = formatTable([['', ...ids.map((node) => `node${node}`)], ...names.map((name) => [name, ...ids.map((node) => formatRate(nodes.get(node)?.[name] ?? 0))])]);
  return ['page allocations per second (numastat)', ...bars, `         ${legend.join(' · ')}`, table, ''];
}

/** The migration and balancing counters per second, two to a row. */
function vmstatSection(vmstat: VmCounters): string[] {
  const cells = Object.entries(vmstat).map(([name, rate]) => [name, formatRate(rate ?? 0)]);
  if (cells.length === 0) return ['migration and balancing: this kernel has none of those counters'];
  const rows: string[][] = [];
  for (let at = 0; at < cells.length; at += 2) rows.push([...cells[at], ...(cells[at + 1] ?? [])]);
  return ['migration and balancing per second (/proc/vmstat)', formatTable(rows)];
}

/** A frame as text: the process's bars (with a pid), a bar per node of allocations, and every counter per second. */
export function formatTopFrame(frame: TopFrame, colour: boolean): string {
  const header = `numaplace top · ${frame.time.slice(11, 19)} UTC · per second over the last ${frame.seconds.toFixed(1)} s`;
  return [
    header,
    '',
    ...(frame.process ? processSection(frame.process, colour) : []),
    ...allocationSection(frame.perSecond.nodes, colour),
    ...vmstatSection(frame.perSecond.vmstat),
  ].join('\n');
}

interface TopRequest {
  pid: number | undefined;
  intervalMs: number;
  /** Frames to print; undefined: until stopped. */
  count: number | undefined;
  json: boolean;
  plain: boolean;
}

/** Where frames go: redrawn in place on a terminal, one after the other elsewhere. */
interface Screen {
  show(frame: TopFrame): void;
  close(): void;
}

const ENTER_SCREEN = '\x1b[?1049h\x1b[?25l';
const LEAVE_SCREEN = '\x1b[?25h\x1b[?1049l';

/**
 * The terminal's alternate screen (as top uses it, so the shell's lines come
 * back on quitting), each frame drawn from its top-left corner over the last;
 * keys read one at a time, q or Ctrl-C to quit. `close` puts the terminal back.
 */
function terminalScreen(stop: () => void, colour: boolean, intervalMs: number): Screen {
  const { stdin, stdout } = process;
  const keys = (key: Buffer) => {
    if (key.includes('q') || key.includes(0x03)) stop();
  };
  stdout.write(`${ENTER_SCREEN}\x1b[Hnumaplace top: the first figures in ${intervalMs / 1000} s (q quits)\x1b[J`);
  if (stdin.isTTY) {
    stdin.setRawMode(true);
    stdin.on('data', keys);
    stdin.resume();
  }
  return {
    show: (frame) => {
      // Over the last frame, each line cleared to its end, the rest of the screen after it.
      const lines = `${formatTopFrame(frame, colour)}\n(q quits)`.split('\n');
      stdout.write(`\x1b[H${lines.join('\x1b[K\n')}\x1b[K\x1b[J`);
    },
    close: () => {
      if (stdin.isTTY) {
        stdin.off('data', keys);
        stdin.setRawMode(false);
        stdin.pause();
      }
      stdout.write(LEAVE_SCREEN);
    },
  };
}

/** Frames one after the other: JSON a line each, text separated by a blank line. */
function streamScreen(json: boolean, colour: boolean): Screen {
  let first = true;
  return {
    show: (frame) => {
      process.stdout.write(json ? `${toJson(frame, 0)}\n` : `${first ? '' : '\n'}${formatTopFrame(frame, colour)}\n`);
      first = false;
    },
    close: () => {},
  };
}

/** Frames until `count` or a stop (q, Ctrl-C, SIGINT, SIGTERM, or a reader that went away): ESRCH when the process exits. */
async function watch(fn: string, { pid, intervalMs, count, json, plain }: TopRequest): Promise<void> {
  const stopped = new AbortController();
  const stop = () => stopped.abort();
  const colour = useColour(process.stdout, plain);
  const command = pid === undefined ? '' : commandName(pid);
  // Read before the screen changes: a pid that is not there is said on the shell's screen.
  let before = numaStatOf(fn, pid);
  const screen = !json && process.stdout.isTTY ? terminalScreen(stop, colour, intervalMs) : streamScreen(json, colour);
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];
  for (const signal of signals) process.on(signal, stop);
  // `numaplace top | head`: once the reader is gone, nothing more to print.
  process.stdout.on('error', stop);
  try {
    for (let frames = 0; count === undefined || frames < count; frames++) {
      const waited = await sleep(intervalMs, true, { signal: stopped.signal }).catch(() => false);
      if (!waited) return;
      const after = numaStatOf(fn, pid);
      screen.show(topFrame(before, after, command));
      before = after;
    }
  } finally {
    for (const signal of signals) process.off(signal, stop);
    process.stdout.off('error', stop);
    screen.close();
  }
}

export const topCommand = defineCommand({
  name: 'top',
  summary: "a process's memory per node and the NUMA counters, live",
  usage: ['top [<pid>] [--interval <seconds>] [--count <n> | --once] [--json] [--no-color]'],
  description: `  numaStat() every --interval seconds (default 2): the memory of process <pid>
  per node, a bar per node split by kind of mapping, what it gained per node
  and the pages NUMA balancing moved of it; each node's page allocations
  (numastat: a bar of local_node and other_node, and every counter) and the
  system's migration and balancing counters (/proc/vmstat) as rates per
  second between two readings. Without <pid>, the nodes and the system only.
  Every frame has rates: the first comes one interval after the start, and
  --once prints that one frame. On a terminal the frame is redrawn in place
  until q, Ctrl-C or --count; elsewhere each frame follows the last, after a
  blank line, and --json prints one JSON object a line per frame, with its
  rates under perSecond. A process that exits while watched ends the command
  with its error (exit code 1; a JSON line with --json) after the frames so far.`,
  jsonLines: true,
  options: {
    interval: valued('seconds', `the time between frames, from ${MIN_INTERVAL} to ${MAX_INTERVAL} (default 2)`, (text, fn, option) =>
      numberText(text, fn, option, MIN_INTERVAL, MAX_INTERVAL, 'seconds'),
    ),
    count: valued('n', 'stop after this many frames (default: until q or Ctrl-C)', (text, fn, option) =>
      integerText(text, fn, option, 1, MAX_FRAMES, 'a number of frames'),
    ),
    once: flag('one frame, one interval after the start (--count 1)'),
    ...JSON_OPTION,
    ...NO_COLOR_OPTION,
  },
  check: (values, operands, fn): TopRequest => {
    const [typed] = operandsText(operands, fn, 0, 1, 'one process id or none');
    exclusiveOptions(Object.keys(values).map((name) => `--${name}`), ['--once', '--count'], fn);
    return {
      pid: typed === undefined ? undefined : pidText(typed, fn),
      intervalMs: (values.interval ?? 2) * 1000,
      count: values.once ? 1 : values.count,
      json: values.json === true,
      plain: values['no-color'] === true,
    };
  },
  run: async (request, { fn }) => {
    // Frames are written as they come, not returned: main prints nothing more.
    await watch(fn, request);
    return { text: '' };
  },
});
