// Child processes placed on a node, as `numactl --cpunodebind=N --membind=N`
// places a command: the thread that starts the child takes the placement for
// the moment of the fork (child_process forks synchronously, from the calling
// thread), the child keeps it through exec (a thread's CPU affinity and
// memory policy are inherited and survive execve), and the thread gets its
// own back before the call returns.
import { type ChildProcess, fork, type ForkOptions, spawn, type SpawnOptions } from 'node:child_process';
import cluster, { type Worker as ClusterWorker } from 'node:cluster';
import { native } from './binding';
import { bestNode } from './best-node';
import { callNative, invalidRange, invalidType } from './errors';
import type { PolicySpec } from './policy';
import { type NumaNode, numaNodes, onlineNode } from './topology';
import { checkPolicyNodes, moduleArgument, nodeArgument, optionsArgument, policyArgument } from './validate';

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
export function nodePlacement(fn: string, node: unknown, options: NodePlacementOptions | undefined): ChildPlacement {
  const id = nodeArgument(node, fn);
  const nodes = numaNodes();
  const target = onlineNode(nodes, id, fn, 'node');
  const { memory = 'bind' } = optionsArgument(options, fn);
  if (memory !== 'bind' && memory !== 'preferred') throw invalidRange(fn, 'options.memory', "'bind' or 'preferred'", memory);
  const memoryNode = target.hasMemory ? id : bestNode({ near: { node: id } });
  return { cpus: cpusFor(target, nodes), policy: { mode: memory, nodes: [memoryNode] } };
}

/**
 * Runs `start` (which must fork) with the calling thread placed as `placement`
 * says, then gives the thread its own CPUs and policy back, whatever happened.
 */
export function startPlaced<T>(fn: string, placement: ChildPlacement, start: () => T): T {
  const policy = placement.policy && policyArgument(placement.policy, fn, 'policy');
  if (policy && placement.policy) checkPolicyNodes(fn, placement.policy, policy, 'set_mempolicy');
  const own = callNative(fn, 'reading the calling thread', () => ({ cpus: native.threadAffinity(), policy: native.threadPolicy() }));
  try {
    if (placement.cpus) {
      const cpus = placement.cpus;
      callNative(fn, `to CPUs [${cpus.join(', ')}] for the child`, () => native.setThreadAffinity(cpus));
    }
    if (policy) callNative(fn, `to nodes [${policy.nodes.join(', ')}] for the child`, () => native.setThreadPolicy(policy));
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

function argsArgument(args: unknown, fn: string): string[] {
  if (args === undefined) return [];
  if (!Array.isArray(args) || !args.every((arg) => typeof arg === 'string')) throw invalidType(fn, 'args', 'an array of strings', args);
  return args;
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
 * @throws TypeError/RangeError for invalid arguments or a node that is not online; NumaError from placing the calling thread (EINVAL for CPUs outside the cpuset).
 *
 * @example
 * const child = spawnOnNode(1, 'redis-server', ['--port', '6380'], { stdio: 'inherit' });
 */
export function spawnOnNode(node: number, command: string, args?: string[], options?: SpawnOptions & NodePlacementOptions): ChildProcess {
  const fn = 'spawnOnNode';
  if (typeof command !== 'string' || command === '') throw invalidType(fn, 'command', 'a command name or path', command);
  const argv = argsArgument(args, fn);
  const placement = nodePlacement(fn, node, options);
  const { memory: _memory, ...spawnOptions } = options ?? {};
  return startPlaced(fn, placement, () => spawn(command, argv, { ...spawnOptions, env: withNodeVariable(spawnOptions.env, node) }));
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
export function forkOnNode(node: number, modulePath: string | URL, args?: string[], options?: ForkOptions & NodePlacementOptions): ChildProcess {
  const fn = 'forkOnNode';
  const file = moduleArgument(modulePath, fn, 'modulePath');
  const argv = argsArgument(args, fn);
  const placement = nodePlacement(fn, node, options);
  const { memory: _memory, ...forkOptions } = options ?? {};
  return startPlaced(fn, placement, () => fork(file, argv, { ...forkOptions, env: withNodeVariable(forkOptions.env, node) }));
}

/**
 * cluster.fork() with the worker on `node`, as spawnOnNode() places it: a
 * cluster primary can run one worker per node, all sharing its listening port.
 *
 * @param node - An online node.
 * @param env - Variables for the worker, as for cluster.fork() (NUMAPLACE_NODE is added).
 * @param options - `memory`.
 * @throws Error when called outside a cluster primary; the errors of spawnOnNode().
 *
 * @example
 * if (cluster.isPrimary) for (const node of topology().nodes) clusterForkOnNode(node.id);
 */
export function clusterForkOnNode(node: number, env?: NodeJS.ProcessEnv, options?: NodePlacementOptions): ClusterWorker {
  const fn = 'clusterForkOnNode';
  if (!cluster.isPrimary) throw new Error(`${fn}: call it in the cluster primary (cluster.isPrimary is false here)`);
  if (env !== undefined && (env === null || typeof env !== 'object')) throw invalidType(fn, 'env', 'an object of environment variables', env);
  const placement = nodePlacement(fn, node, options);
  return startPlaced(fn, placement, () => cluster.fork({ ...env, [NODE_VARIABLE]: String(node) }));
}
