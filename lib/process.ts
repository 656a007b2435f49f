import { native } from './binding';
import { nodePairsArgument, pidArgument } from './checks';
import { callNative, callNativeAsync, conditionError } from './errors';
import { requireLiveProcess, requireMemoryNodes, requireOnline } from './preconditions';
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

function processMigration(fn: string, pid: unknown, fromNodes: unknown, toNodes: unknown) {
  const target = pidArgument(pid, fn);
  const { from, to } = nodePairsArgument(fromNodes, toNodes, fn);
  requireOnline(fn, from);
  // Another process's cpuset is its own; this process's pages (pid 0) must stay in its own.
  requireMemoryNodes(fn, to, { inCpuset: target === 0 });
  requireLiveProcess(fn, target);
  const steps = migrationSteps(fn, target, from, to);
  // Only pairs of a node with itself: one call still checks the process and the permission.
  if (steps.length === 0) steps.push({ from: from[0], to: from[0] });
  return { pid: target, steps, context: (step: Step) => `for pid ${target}, node ${step.from} → ${step.to}` };
}

/**
 * Moves every page of process `pid` (0 = this one) that is on node
 * `fromNodes[i]` to node `toNodes[i]` (migrate_pages, one call per pair), like
 * `migratepages pid from to`, on the libuv pool. Pairs run in an order that
 * never moves pages twice; a swap goes through a spare node. Resolves to how
 * many pages could not be moved.
 *
 * Pages shared with other processes stay unless the caller has CAP_SYS_NICE;
 * processPlacement() shows what is left where.
 *
 * @param pid - The process, 0 for this one.
 * @param fromNodes - Nodes whose pages move; each at most once.
 * @param toNodes - Where the pages of the node at the same position go.
 * @throws TypeError/RangeError for invalid arguments, lists that differ in length or a node in `fromNodes` twice.
 * @throws NumaError ENODEV for a node that is not online (or, in `toNodes`, has no memory); ESRCH for a process that does not exist or has exited; EPERM for another user's process without CAP_SYS_NICE; EBUSY when the pairs form a cycle and no spare node is free.
 *
 * @example
 * const { notMoved } = await migrateProcess(child.pid, [0], [1]);
 */
export async function migrateProcess(pid: number, fromNodes: number[], toNodes: number[]): Promise<{ notMoved: number }> {
  const fn = 'migrateProcess';
  const request = processMigration(fn, pid, fromNodes, toNodes);
  let notMoved = 0;
  for (const step of request.steps) {
    notMoved += await callNativeAsync(fn, request.context(step), () => native.migrateProcessAsync(request.pid, [step.from], [step.to]));
  }
  return { notMoved };
}

/**
 * migrateProcess() on the calling thread, for scripts.
 *
 * @param pid - The process, 0 for this one.
 * @param fromNodes - Nodes whose pages move; each at most once.
 * @param toNodes - Where the pages of the node at the same position go.
 * @throws The errors of migrateProcess().
 *
 * @example
 * migrateProcessSync(0, [0], [1]); // this whole process from node 0 to node 1
 */
export function migrateProcessSync(pid: number, fromNodes: number[], toNodes: number[]): { notMoved: number } {
  const fn = 'migrateProcessSync';
  const request = processMigration(fn, pid, fromNodes, toNodes);
  let notMoved = 0;
  for (const step of request.steps) {
    notMoved += callNative(fn, request.context(step), () => native.migrateProcess(request.pid, [step.from], [step.to]));
  }
  return { notMoved };
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
