import type { NativeRangeResult } from '../types/binding';
import { native } from './binding';
import { capabilities } from './capabilities';
import { budgetOptions, type BudgetFields, nodePairsArgument, optionsArgument, pidArgument } from './checks';
import { MAX_DEFAULT_CHUNK_PAGES, windowPages } from './engine';
import { conditionError, nativeCall } from './errors';
import { failureCode } from './migrate';
import { Pace, type PacedFigures, pacedSteps } from './pace';
import { requireInCpusetOf, requireLiveProcess, requireMemoryNodes, requireOnline } from './preconditions';
import { type Body, runAsync, runSync } from './sync-async';
import { type MappingKind, type MappingPlacement, memoryOfMappings, parseNumaMaps } from './numa-maps';
import { memoryNodes, readKernelFile } from './topology';

// The command line (lib/cli) takes the kinds from here, with the placement they describe.
export type { MappingKind, MappingPlacement } from './numa-maps';

/** One migrate_pages call: every page of the process on `from` goes to `to`. */
type Step = { from: number; to: number };

/**
 * migrate_pages maps node *sets* by relative position, so [0, 1] → [1, 0] is
 * the identity to it. Each pair becomes a call of its own, ordered so that no
 * pair moves pages onto a node whose own pages have yet to leave; a cycle
 * (a swap) parks one node's pages on a spare node the process has no pages on.
 */
function migrationSteps(fn: string, pid: number, from: number[], to: number[]): Step[] {
  let pending = from.map((node, index) => ({ from: node, to: to[index] })).filter((pair) => pair.from !== pair.to);
  const steps: Step[] = [];
  while (pending.length > 0) {
    const ready = pending.find((pair) => !pending.some((other) => other.from === pair.to));
    if (ready) {
      steps.push(ready);
      pending = pending.filter((pair) => pair !== ready);
      continue;
    }
    const [parked, ...rest] = pending;
    const spare = spareNode(fn, pid, [...from, ...to]);
    if (spare === undefined) {
      throw conditionError(
        fn,
        'EBUSY',
        `the pairs ${pending.map((pair) => `${pair.from}→${pair.to}`).join(', ')} form a cycle: ` +
          "each node's pages must wait on a spare node with memory that the process has no pages on, and there is none; " +
          'move them in separate calls through a node of your choice',
      );
    }
    steps.push({ from: parked.from, to: spare });
    pending = [...rest, { from: spare, to: parked.to }];
  }
  return steps;
}

/** A node with memory, not among `used`, holding no pages of the process. */
function spareNode(fn: string, pid: number, used: number[]): number | undefined {
  const { bytesByNode } = placementOf(fn, pid);
  return memoryNodes(fn).find((node) => !used.includes(node) && !bytesByNode.get(node));
}

/** What migrateProcess() and migrateProcessSync() take besides the nodes. */
export interface ProcessMigrateOptions {
  /**
   * Moves gently: at most this many bytes a second on average, with pauses between move_pages
   * calls. The process is then moved range by range with move_pages, not with one migrate_pages
   * call: see the README for what differs.
   */
  bytesPerSecond?: number;
  /** Moves gently: sizes each move_pages call so that none takes longer than this (as migrateBuffer's). */
  maxCallMs?: number;
}

/** What a gentle process migration (with `bytesPerSecond` or `maxCallMs`) did. */
export interface ProcessMigrationReport extends PacedFigures {
  /** Pages that were on a node of `fromNodes` and are not on their target afterwards, and the hidden ones. */
  notMoved: number;
  /** Pages moved to their target. */
  moved: number;
  /** The pages not moved by the kernel's reason: EACCES (shared with other processes: needs CAP_SYS_NICE), EBUSY, ENOMEM, NOT_MOVED. */
  failed: Map<string, number>;
  /** The same pages by the node they are on, read back. */
  elsewhere: Map<number, number>;
  /** Present pages NUMA balancing hid that could not be faulted back in to move (reading them needs ptrace access). */
  hidden: number;
  /** Mappings that had pages on `fromNodes` (numa_maps), moved range by range. */
  mappings: number;
  /** move_pages calls that moved pages. */
  calls: number;
  /** Wall-clock time of the whole migration, pauses included. */
  elapsedNs: number;
}

/** What migrateProcess() resolves to for options `O`: the gentle report with `bytesPerSecond` or `maxCallMs`, `{ notMoved }` otherwise. */
export type ProcessMigrationFor<O> = O extends { bytesPerSecond: number } | { maxCallMs: number } ? ProcessMigrationReport : { notMoved: number };

function processMigration(fn: string, pid: unknown, fromNodes: unknown, toNodes: unknown, options: ProcessMigrateOptions | undefined) {
  const target = pidArgument(pid, fn);
  const { from, to } = nodePairsArgument(fromNodes, toNodes, fn);
  const budget = budgetOptions(fn, optionsArgument(options, fn, ['bytesPerSecond', 'maxCallMs']));
  requireOnline(fn, from);
  // Another process's cpuset is its own; this process's pages (pid 0) must stay in its own.
  requireMemoryNodes(fn, to, { inCpuset: target === 0 });
  requireLiveProcess(fn, target);
  // migrate_pages keeps to the target's cpuset by itself; move_pages (a budget) refuses a node outside it.
  if (budget && target !== 0) requireInCpusetOf(fn, target, to);
  return { fn, pid: target, from, to, budget };
}

type ProcessRequest = ReturnType<typeof processMigration>;

/** migrateProcess() and migrateProcessSync(): the one body of both (its checks too: the Promise form rejects with their errors). */
function* processMoves(fn: string, ...args: [unknown, unknown, unknown, ProcessMigrateOptions | undefined]): Body<{ notMoved: number } | ProcessMigrationReport> {
  const request = processMigration(fn, ...args);
  const { pid, from, to } = request;
  if (request.budget) return yield* gentleProcessMigration(request, request.budget);
  const steps = migrationSteps(fn, pid, from, to);
  // Only pairs of a node with itself: one call still checks the process and the permission.
  if (steps.length === 0) steps.push({ from: from[0], to: from[0] });
  let notMoved = 0;
  for (const step of steps) {
    notMoved += yield* nativeCall(fn, `for pid ${pid}, node ${step.from} → ${step.to}`, {
      sync: () => native.migrateProcess(pid, [step.from], [step.to]),
      async: () => native.migrateProcessAsync(pid, [step.from], [step.to]),
    });
  }
  return { notMoved };
}

/** A mapping to move range by range: its address, its pages and their size. */
interface Range {
  start: number;
  pages: number;
  pageBytes: number;
}

/** The mappings of process `pid` with pages on `nodes` (numa_maps), with their ends (maps). */
function rangesOnNodes(fn: string, pid: number, nodes: number[]): Range[] {
  const { mappings } = placementOf(fn, pid);
  const ends = new Map<bigint, bigint>();
  for (const line of readProcessFile(fn, pid, 'maps').split('\n')) {
    const match = /^([0-9a-f]+)-([0-9a-f]+) /.exec(line);
    if (match) ends.set(BigInt(`0x${match[1]}`), BigInt(`0x${match[2]}`));
  }
  return mappings.flatMap((mapping) => {
    const end = ends.get(mapping.start);
    const pageBytes = mapping.pageSizeKiB * 1024;
    // A mapping gone between the two readings has no end: nothing left of it to move.
    if (end === undefined || !nodes.some((node) => mapping.byNode.get(node))) return [];
    return [{ start: Number(mapping.start), pages: Number((end - mapping.start) / BigInt(pageBytes)), pageBytes }];
  });
}

/** Where the pages of each node go, by node id (-1: they stay), as the addon takes it. */
function nodeTargets(from: number[], to: number[]): Int32Array {
  const targets = new Int32Array(Math.max(...from) + 1).fill(-1);
  from.forEach((node, index) => (targets[node] = to[index]));
  return targets;
}

/** What the ranges moved so far add up to. */
class ProcessTotals {
  moved = 0;
  hidden = 0;
  readonly failed = new Map<string, number>();
  readonly elsewhere = new Map<number, number>();

  add(result: NativeRangeResult): number {
    this.moved += result.moved;
    this.hidden += result.hidden;
    let failed = 0;
    for (const [status, pages] of Object.entries(result.failed)) {
      const code = failureCode(Number(status));
      this.failed.set(code, (this.failed.get(code) ?? 0) + pages);
      failed += pages;
    }
    for (const [node, pages] of Object.entries(result.elsewhere)) this.elsewhere.set(Number(node), (this.elsewhere.get(Number(node)) ?? 0) + pages);
    return failed;
  }
}

/**
 * A process migration with a budget: the process's mappings with pages on the
 * nodes to leave, range by range, each range's pages moved page by page to
 * the target of the node they are on (move_pages on the process), one call
 * at a time, each sized and paced as a buffer's (see lib/pace.ts).
 */
function* gentleProcessMigration(request: ProcessRequest, budget: BudgetFields): Body<ProcessMigrationReport> {
  const { fn, pid } = request;
  const started = process.hrtime.bigint();
  const ranges = rangesOnNodes(fn, pid, request.from);
  const targets = nodeTargets(request.from, request.to);
  // As migrate_pages: pages shared with other processes too when the caller may (CAP_SYS_NICE).
  const moveAll = capabilities().moveAll.supported;
  const pace = new Pace(budget, native.pageSize, MAX_DEFAULT_CHUNK_PAGES);
  const totals = new ProcessTotals();
  const at = { range: 0, page: 0 };
  yield* pacedSteps(pace, undefined, function* ({ window, moves }) {
    const { start, pages, pageBytes } = ranges[at.range];
    const scale = pageBytes / native.pageSize;
    const count = scale === 1 ? windowPages({ start: BigInt(start), pages }, at.page, window) : Math.min(pages - at.page, Math.max(1, Math.floor(window / scale)));
    const address = start + at.page * pageBytes;
    const end = start + pages * pageBytes;
    const options = { moveAll, maxMoves: Math.max(1, Math.floor(moves / scale)) };
    const result = yield* nativeCall(fn, `for pid ${pid}, ${count} pages at 0x${address.toString(16)}`, {
      sync: () => native.moveProcessRange(pid, address, count, end, pageBytes, targets, options),
      async: () => native.moveProcessRangeAsync(pid, address, count, end, pageBytes, targets, options),
    });
    const failed = totals.add(result);
    at.page += result.pages;
    if (at.page >= pages) Object.assign(at, { range: at.range + 1, page: 0 });
    return { more: at.range < ranges.length, handled: result.pages * scale, moved: result.moved * scale, tried: (result.moved + failed) * scale, callNs: result.callNs };
  }, ranges.length > 0);
  const elapsedNs = Number(process.hrtime.bigint() - started);
  const figures = pace.figures(elapsedNs);
  const failed = [...totals.failed.values()].reduce((sum, pages) => sum + pages, 0);
  const { moved, hidden, elsewhere } = totals;
  return { notMoved: failed + hidden, moved, failed: totals.failed, elsewhere, hidden, mappings: ranges.length, calls: figures.callMs.length, elapsedNs, ...figures };
}

/**
 * Moves every page of process `pid` (0 = this one) that is on node
 * `fromNodes[i]` to node `toNodes[i]` (migrate_pages, one call per pair), like
 * `migratepages pid from to`, on the libuv pool. Pairs run in an order that
 * never moves pages twice; a swap goes through a spare node. Resolves to how
 * many pages could not be moved.
 *
 * With `bytesPerSecond` or `maxCallMs` it moves gently instead: range by
 * range with move_pages, each call sized to take at most `maxCallMs`, with
 * pauses to keep to `bytesPerSecond` (on timers: the event loop runs), and
 * resolves to a ProcessMigrationReport. A swap needs no spare node then: each
 * page goes to the target of the node it is on.
 *
 * Pages shared with other processes stay unless the caller has CAP_SYS_NICE;
 * processPlacement() shows what is left where.
 *
 * @param pid - The process, 0 for this one.
 * @param fromNodes - Nodes whose pages move; each at most once.
 * @param toNodes - Where the pages of the node at the same position go.
 * @param options - `bytesPerSecond`, `maxCallMs`: move gently.
 * @throws TypeError/RangeError for invalid arguments, lists that differ in length or a node in `fromNodes` twice.
 * @throws NumaError ENODEV for a node that is not online (or, in `toNodes`, has no memory); ESRCH for a process that does not exist or has exited; EPERM for another user's process without CAP_SYS_NICE; EBUSY when the pairs form a cycle and no spare node is free (without a budget).
 *
 * @example
 * const { notMoved } = await migrateProcess(child.pid, [0], [1]);
 * const gentle = await migrateProcess(child.pid, [1], [0], { maxCallMs: 2, bytesPerSecond: 64 * 2 ** 20 });
 */
export function migrateProcess<O extends ProcessMigrateOptions = ProcessMigrateOptions>(
  pid: number,
  fromNodes: number[],
  toNodes: number[],
  options?: O & ProcessMigrateOptions,
): Promise<ProcessMigrationFor<O>> {
  // The report's shape follows the options: see processMoves().
  return runAsync(processMoves('migrateProcess', pid, fromNodes, toNodes, options)) as Promise<ProcessMigrationFor<O>>;
}

/**
 * migrateProcess() on the calling thread, for scripts: a gentle one sleeps between calls.
 *
 * @param pid - The process, 0 for this one.
 * @param fromNodes - Nodes whose pages move; each at most once.
 * @param toNodes - Where the pages of the node at the same position go.
 * @param options - `bytesPerSecond`, `maxCallMs`: move gently.
 * @throws The errors of migrateProcess().
 *
 * @example
 * migrateProcessSync(0, [0], [1]); // this whole process from node 0 to node 1
 */
export function migrateProcessSync<O extends ProcessMigrateOptions = ProcessMigrateOptions>(
  pid: number,
  fromNodes: number[],
  toNodes: number[],
  options?: O & ProcessMigrateOptions,
): ProcessMigrationFor<O> {
  return runSync(processMoves('migrateProcessSync', pid, fromNodes, toNodes, options)) as ProcessMigrationFor<O>;
}

export interface ProcessPlacement {
  /** The process (0 for the calling one). */
  pid: number;
  /** Every mapping of the process, in address order. */
  mappings: MappingPlacement[];
  /** Bytes per node for each kind of mapping, like `numastat -p`. */
  bytesByKind: Record<MappingKind, Map<number, number>>;
  /** Bytes per node, all kinds together. */
  bytesByNode: Map<number, number>;
}

/**
 * Where the memory of process `pid` (0 = this one) lives, per mapping and per node, from /proc/<pid>/numa_maps.
 *
 * @param pid - The process, 0 for this one.
 * @throws TypeError/RangeError for an invalid pid; NumaError ESRCH for a process that does not exist or has exited, EACCES for another user's process without ptrace access.
 *
 * @example
 * console.log(processPlacement(child.pid).bytesByNode); // Map { 0 => bytes, 1 => bytes }
 */
export function processPlacement(pid: number): ProcessPlacement {
  const fn = 'processPlacement';
  return placementOf(fn, pidArgument(pid, fn));
}

/** processPlacement() of a checked pid, its errors naming the public function `fn`. */
export function placementOf(fn: string, target: number): ProcessPlacement {
  requireLiveProcess(fn, target);
  const text = readProcessFile(fn, target, 'numa_maps');
  const { bytesByKind, bytesByNode } = memoryOfMappings(text);
  return { pid: target, mappings: parseNumaMaps(text), bytesByKind, bytesByNode };
}

/**
 * /proc/<pid>/<name> (pid 0: this process's) for the public function `fn`: the
 * NumaError of readKernelFile, or ESRCH when the process exited meanwhile.
 */
export function readProcessFile(fn: string, pid: number, name: string): string {
  try {
    return readKernelFile(fn, `/proc/${pid === 0 ? 'self' : pid}/${name}`);
  } catch (error) {
    requireLiveProcess(fn, pid);
    throw error;
  }
}
