// Child processes placed on a node, as `numactl --cpunodebind=N --membind=N`
// places a command: the thread that starts the child takes the placement for
// the moment of the fork (child_process forks synchronously, from the calling
// thread), the child keeps it through exec (a thread's CPU affinity and
// memory policy are inherited and survive execve), and the thread gets its
// own back before the call returns.
import {
  type ChildProcess,
  type ChildProcessByStdio,
  type ChildProcessWithoutNullStreams,
  fork,
  type ForkOptions,
  spawn,
  type SpawnOptions,
  type SpawnOptionsWithoutStdio,
  type SpawnOptionsWithStdioTuple,
  type StdioNull,
  type StdioPipe,
} from 'node:child_process';
import cluster, { type Worker as ClusterWorker } from 'node:cluster';
import type { Readable, Writable } from 'node:stream';
import { native } from './binding';
import { bestNodeFor } from './best-node';
import { choiceOption, clusterPrimary, commandArgument, environmentArgument, moduleArgument, nodeArgument, optionsArgument, stringListArgument } from './checks';
import { callNative } from './errors';
import { type PolicySpec, policyOf } from './policy';
import { onlineNode, requirePolicyNodes } from './preconditions';
import { type NumaNode, numaNodes } from './topology';

/** Where a child runs and allocates: each left out stays as the calling thread has it. */
export interface ChildPlacement {
  /** CPUs the child may run on. */
  cpus?: number[];
  /** The child's memory policy, as setThreadPolicy() takes it. */
  policy?: PolicySpec;
}

export interface NodePlacementOptions {
  /**
   * 'bind' (the default): memory from the node only, as `numactl --membind`; when it is full
   * the child's allocations fail (or the OOM killer acts) rather than spill. 'preferred': the
   * node first, any other when it is full, as `numactl --preferred`.
   */
  memory?: 'bind' | 'preferred';
}

/** The environment variable that tells a child started on a node which node it is. */
export const NODE_VARIABLE = 'NUMAPLACE_NODE';

/**
 * The CPUs for work on `target`: its own; for a node of memory only, those of
 * the nodes the firmware's HMAT names as its nearest initiators, else of the
 * nearest nodes with CPUs by distance.
 */
function cpusFor(target: NumaNode, nodes: NumaNode[]): number[] {
  if (target.cpus.length > 0) return target.cpus;
  const withCpus = nodes.filter((node) => node.cpus.length > 0);
  const initiators = withCpus.filter((node) => target.access?.initiators.includes(node.id));
  const nearest = Math.min(...withCpus.map((node) => target.distances[node.id] ?? Infinity));
  const chosen = initiators.length > 0 ? initiators : withCpus.filter((node) => (target.distances[node.id] ?? Infinity) === nearest);
  return chosen.flatMap((node) => node.cpus).sort((a, b) => a - b);
}

/** The placement of a child on `node`: its CPUs (see cpusFor), its memory (or, for a node of CPUs only, the best node's). */
export function nodePlacement(fn: string, node: unknown, memory: 'bind' | 'preferred' = 'bind'): ChildPlacement {
  const id = nodeArgument(node, fn);
  const nodes = numaNodes(fn);
  const target = onlineNode(fn, id, nodes);
  const memoryNode = target.hasMemory ? id : bestNodeFor(fn, { node: id });
  return { cpus: cpusFor(target, nodes), policy: { mode: memory, nodes: [memoryNode] } };
}

const MEMORY_CHOICES = ['bind', 'preferred'] as const;

// Node's own options for each kind of child (Node 18 to 24), which pass
// through; with `memory`, every key these functions take.
const SPAWN_KEYS = ['argv0', 'cwd', 'detached', 'env', 'gid', 'serialization', 'shell', 'signal', 'stdio', 'timeout', 'uid', 'killSignal', 'windowsHide', 'windowsVerbatimArguments'];
const FORK_KEYS = [...SPAWN_KEYS.filter((key) => key !== 'shell'), 'execPath', 'execArgv', 'silent'];

/** The options of spawnOnNode/forkOnNode: Node's (any key `keys` lists) and the child's memory policy. */
function childOptions<T extends object>(fn: string, options: (T & NodePlacementOptions) | undefined, keys: readonly string[]) {
  const { memory, ...rest } = optionsArgument(options, fn, [...keys, 'memory']) as T & NodePlacementOptions;
  return { memory: choiceOption(memory, fn, 'memory', MEMORY_CHOICES, 'bind'), nodeOptions: rest as T };
}

/**
 * Places the calling thread as `placement` says, its policy checked first: a
 * child it forks, and a command it execs, start there.
 */
export function placeThread(fn: string, placement: ChildPlacement): void {
  const checked = placement.policy && policyOf(fn, placement.policy, 'policy');
  if (checked) requirePolicyNodes(fn, checked.fields);
  if (placement.cpus) {
    const cpus = placement.cpus;
    callNative(fn, `to CPUs [${cpus.join(', ')}]`, () => native.setThreadAffinity(cpus));
  }
  const policy = checked?.policy;
  if (policy) callNative(fn, `to nodes [${policy.nodes.join(', ')}]`, () => native.setThreadPolicy(policy));
}

/**
 * Runs `start` (which must fork) with the calling thread placed as `placement`
 * says, then gives the thread its own CPUs and policy back, whatever happened.
 */
export function startPlaced<T>(fn: string, placement: ChildPlacement, start: () => T): T {
  const own = callNative(fn, 'reading the calling thread', () => ({ cpus: native.threadAffinity(), policy: native.threadPolicy() }));
  try {
    placeThread(fn, placement);
    return start();
  } finally {
    callNative(fn, 'giving the calling thread its own placement back', () => {
      native.setThreadPolicy(own.policy);
      native.setThreadAffinity(own.cpus);
    });
  }
}

function withNodeVariable(env: NodeJS.ProcessEnv | undefined, node: number): NodeJS.ProcessEnv {
  return { ...(env ?? process.env), [NODE_VARIABLE]: String(node) };
}

/**
 * child_process.spawn() with the child on `node`: it runs on the node's CPUs
 * and allocates from the node's memory (`memory: 'bind'`, the default, or
 * `'preferred'`), through every exec it makes; NUMAPLACE_NODE in its
 * environment says which node. A node of memory only lends the CPUs nearest
 * to it; a node of CPUs only, the memory of the best node for it (bestNode).
 *
 * @param node - An online node.
 * @param command - The command, as for child_process.spawn().
 * @param args - Its arguments.
 * @param options - child_process.spawn()'s options, and `memory`.
 * @throws TypeError/RangeError for invalid arguments or an unknown option; NumaError ENODEV for a node that is not online; NumaError from placing the calling thread (EINVAL for CPUs outside the cpuset).
 *
 * @example
 * const child = spawnOnNode(1, 'redis-server', ['--port', '6380'], { stdio: 'inherit' });
 */
export function spawnOnNode(
  node: number,
  command: string,
  args?: readonly string[],
  options?: SpawnOptionsWithoutStdio & NodePlacementOptions,
): ChildProcessWithoutNullStreams;
export function spawnOnNode<I extends StdioNull | StdioPipe, O extends StdioNull | StdioPipe, E extends StdioNull | StdioPipe>(
  node: number,
  command: string,
  args: readonly string[],
  options: SpawnOptionsWithStdioTuple<I, O, E> & NodePlacementOptions,
): ChildProcessByStdio<I extends StdioPipe ? Writable : null, O extends StdioPipe ? Readable : null, E extends StdioPipe ? Readable : null>;
export function spawnOnNode(node: number, command: string, args?: readonly string[], options?: SpawnOptions & NodePlacementOptions): ChildProcess;
export function spawnOnNode(node: number, command: string, args?: readonly string[], options?: SpawnOptions & NodePlacementOptions): ChildProcess {
  const fn = 'spawnOnNode';
  const file = commandArgument(command, fn);
  const argv = stringListArgument(args, fn, 'args');
  const { memory, nodeOptions } = childOptions<SpawnOptions>(fn, options, SPAWN_KEYS);
  const placement = nodePlacement(fn, node, memory);
  return startPlaced(fn, placement, () => spawn(file, argv, { ...nodeOptions, env: withNodeVariable(nodeOptions.env, node) }));
}

/**
 * child_process.fork() with the child on `node`, as spawnOnNode() places it:
 * a Node.js process with an IPC channel, its CPUs and memory on the node.
 *
 * @param node - An online node.
 * @param modulePath - The module to run (a path or file: URL).
 * @param args - Its arguments.
 * @param options - child_process.fork()'s options, and `memory`.
 * @throws The errors of spawnOnNode().
 *
 * @example
 * const shard = forkOnNode(1, require.resolve('./shard.js'), ['--shard', '1']);
 */
export function forkOnNode(node: number, modulePath: string | URL, args?: readonly string[], options?: ForkOptions & NodePlacementOptions): ChildProcess {
  const fn = 'forkOnNode';
  const file = moduleArgument(modulePath, fn, 'modulePath');
  const argv = stringListArgument(args, fn, 'args');
  const { memory, nodeOptions } = childOptions<ForkOptions>(fn, options, FORK_KEYS);
  const placement = nodePlacement(fn, node, memory);
  return startPlaced(fn, placement, () => fork(file, argv, { ...nodeOptions, env: withNodeVariable(nodeOptions.env, node) }));
}

/**
 * cluster.fork() with the worker on `node`, as spawnOnNode() places it: a
 * cluster primary can run one worker per node, all sharing its listening port.
 *
 * @param node - An online node.
 * @param env - Variables for the worker, as for cluster.fork() (NUMAPLACE_NODE is added).
 * @param options - `memory`.
 * @throws TypeError ERR_INVALID_STATE when called outside a cluster primary; the errors of spawnOnNode().
 *
 * @example
 * if (cluster.isPrimary) for (const node of topology().nodes) clusterForkOnNode(node.id);
 */
export function clusterForkOnNode(node: number, env?: NodeJS.ProcessEnv, options?: NodePlacementOptions): ClusterWorker {
  const fn = 'clusterForkOnNode';
  clusterPrimary(cluster.isPrimary, fn);
  environmentArgument(env, fn, 'env');
  const { memory } = optionsArgument(options, fn, ['memory']);
  const placement = nodePlacement(fn, node, choiceOption(memory, fn, 'memory', MEMORY_CHOICES, 'bind'));
  return startPlaced(fn, placement, () => cluster.fork({ ...env, [NODE_VARIABLE]: String(node) }));
}
