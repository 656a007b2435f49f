import path from 'node:path';
import { Worker, type WorkerOptions } from 'node:worker_threads';
import { native } from './binding';
import { callNative, invalidRange } from './errors';
import { migrateBuffer, type MigrationReport, type ParallelMigrateOptions } from './migrate';
import { topology } from './topology';
import { cpusOfNodeArgument, idArgument, moduleArgument, pinTargetArgument } from './validate';

/**
 * The CPUs the calling thread may run on (sched_getaffinity).
 *
 * @example
 * threadAffinity(); // e.g. [0, 1, 2, 3]
 */
export function threadAffinity(): number[] {
  return callNative('threadAffinity', 'for the calling thread', () => native.threadAffinity());
}

/**
 * The CPU the calling thread runs on and that CPU's node (getcpu).
 *
 * @example
 * const { cpu, node } = currentCpu();
 */
export function currentCpu(): { cpu: number; node: number } {
  return callNative('currentCpu', 'for the calling thread', () => native.currentCpu());
}

/**
 * The node a CPU belongs to.
 *
 * @example
 * nodeOfCpu(currentCpu().cpu); // the node of the CPU this runs on
 */
export function nodeOfCpu(cpu: number): number {
  idArgument(cpu, 'nodeOfCpu', 'cpu', 'CPU');
  const node = topology().nodes.find((candidate) => candidate.cpus.includes(cpu));
  if (!node) throw invalidRange('nodeOfCpu', 'cpu', `an online CPU id`, cpu);
  return node.id;
}

/**
 * Restricts the calling thread (main thread or worker) to `cpus`, or to the
 * CPUs of `{ node }` (sched_setaffinity). Returns the CPUs it may now run on.
 *
 * @example
 * pinThread({ node: 1 }); // this thread now runs on node 1's CPUs only
 */
export function pinThread(target: number[] | { node: number }): number[] {
  const fn = 'pinThread';
  const cpus = pinTargetArgument(target, fn);
  callNative(fn, `to CPUs [${cpus.join(', ')}]`, () => native.setThreadAffinity(cpus));
  return threadAffinity();
}

/**
 * The node the calling thread runs near: the one node of all its allowed CPUs, else the current CPU's.
 *
 * @example
 * pinThread({ node: 1 });
 * nodeOfThread(); // 1
 */
export function nodeOfThread(): number {
  const nodes = new Set(threadAffinity().map(nodeOfCpu));
  return nodes.size === 1 ? [...nodes][0] : currentCpu().node;
}

/**
 * Migrates the view to the node the calling thread runs near (see nodeOfThread), e.g. after pinThread().
 *
 * @example
 * pinThread({ node: 1 });
 * await placeNear(buffer); // the buffer follows the thread to node 1
 */
export function placeNear(view: ArrayBufferView | ArrayBuffer | SharedArrayBuffer, options?: ParallelMigrateOptions): Promise<MigrationReport> {
  return migrateBuffer(view, nodeOfThread(), options);
}

/**
 * Starts a worker_threads Worker that first pins itself to the CPUs of `node`
 * and sets its memory policy to prefer `node`, then runs `filename` (a
 * CommonJS module; relative to the current directory) with the given options
 * (workerData and the rest).
 *
 * @example
 * const worker = startWorkerOnNode(require.resolve('./shard.js'), 1, { workerData: { shard: 3 } });
 */
export function startWorkerOnNode(filename: string, node: number, options?: WorkerOptions): Worker {
  const fn = 'startWorkerOnNode';
  moduleArgument(filename, fn);
  cpusOfNodeArgument(node, fn, 'node');
  // The compiled package entry, also when this module runs from source (tests).
  const entry = path.join(__dirname, '..', 'dist', 'index.js');
  const preamble = [
    `const numaplace = require(${JSON.stringify(entry)});`,
    `numaplace.pinThread({ node: ${node} });`,
    `numaplace.setThreadPolicy({ mode: 'preferred', nodes: [${node}] });`,
    `require(${JSON.stringify(path.resolve(filename))});`,
  ].join('\n');
  return new Worker(preamble, { ...options, eval: true });
}
