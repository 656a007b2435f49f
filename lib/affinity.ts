import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';
import { native } from './binding';
import { bestNodeFor } from './best-node';
import { idArgument, type MemoryView, moduleArgument, nodeArgument, pinTargetArgument } from './checks';
import { callNative } from './errors';
import { migrateBuffer, type MigrationReport, type ParallelMigrateOptions } from './migrate';
import { cpuNode, nodeOfOnlineCpu, requireOnlineCpus } from './preconditions';
import { numaNodes } from './topology';

/**
 * The CPUs the calling thread may run on (sched_getaffinity).
 *
 * @throws NumaError ENOTSUP when the native addon is not available (see capabilities()).
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
 * @throws NumaError ENOTSUP when the native addon is not available (see capabilities()).
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
 * @param cpu - A CPU id.
 * @throws TypeError/RangeError for a value that is not a CPU id; NumaError ENODEV for a CPU that is not online.
 *
 * @example
 * nodeOfCpu(currentCpu().cpu); // the node of the CPU this runs on
 */
export function nodeOfCpu(cpu: number): number {
  const fn = 'nodeOfCpu';
  return nodeOfOnlineCpu(fn, idArgument(cpu, fn, 'cpu', 'CPU')).id;
}

/**
 * Restricts the calling thread (main thread or worker) to `cpus`, or to the
 * CPUs of `{ node }` (sched_setaffinity). Returns the CPUs it may now run on.
 *
 * @param target - CPU ids, or `{ node }` for the CPUs of a node.
 * @throws TypeError/RangeError for an empty or invalid list; NumaError ENODEV for a CPU that is not online, or a node that is not online or has no CPUs; NumaError EINVAL when no given CPU is in this process's cpuset (sched_setaffinity).
 *
 * @example
 * pinThread({ node: 1 }); // this thread now runs on node 1's CPUs only
 */
export function pinThread(target: number[] | { node: number }): number[] {
  const fn = 'pinThread';
  const given = pinTargetArgument(target, fn);
  const cpus = 'node' in given ? cpuNode(fn, given.node).cpus : given.cpus;
  if ('cpus' in given) requireOnlineCpus(fn, cpus);
  callNative(fn, `to CPUs [${cpus.join(', ')}]`, () => native.setThreadAffinity(cpus));
  return threadAffinity();
}

/**
 * The node the calling thread runs near: the one node of all its allowed CPUs, else the current CPU's.
 *
 * @throws NumaError ENOTSUP when the native addon is not available (see capabilities()).
 *
 * @example
 * pinThread({ node: 1 });
 * nodeOfThread(); // 1
 */
export function nodeOfThread(): number {
  const fn = 'nodeOfThread';
  const machine = numaNodes(fn);
  const nodes = new Set(threadAffinity().map((cpu) => nodeOfOnlineCpu(fn, cpu, machine).id));
  return nodes.size === 1 ? [...nodes][0] : currentCpu().node;
}

/**
 * Migrates the view to the node the calling thread runs near (see nodeOfThread), e.g. after pinThread();
 * when that node has no memory (CPUs only), to the best node for it (see bestNode).
 *
 * @param view - The memory to move (its whole pages move).
 * @param options - As for migrateBuffer().
 * @throws The errors of migrateBuffer().
 *
 * @example
 * pinThread({ node: 1 });
 * await placeNear(buffer); // the buffer follows the thread to node 1
 */
export function placeNear(view: MemoryView, options?: ParallelMigrateOptions): Promise<MigrationReport> {
  return migrateBuffer(view, bestNodeFor('placeNear', { node: nodeOfThread() }), options);
}

/**
 * Starts a worker_threads Worker that first pins itself to the CPUs of `node`
 * and sets its memory policy to prefer `node` (or, for a node with CPUs and no
 * memory, the best node for it: see bestNode), then loads `filename` (a path,
 * relative to the current directory, or a file: URL; CommonJS or an ES module,
 * top-level await included) with the given options (workerData and the rest).
 * Everything that can fail is checked before the worker starts.
 *
 * @param filename - The worker's module.
 * @param node - A node with CPUs.
 * @param options - Node's WorkerOptions (workerData, resourceLimits, …).
 * @throws TypeError/RangeError for a filename that is neither a string nor a file: URL, or a value that is not a node id; NumaError ENODEV for a node that is not online or has no CPUs.
 *
 * @example
 * const worker = startWorkerOnNode(require.resolve('./shard.js'), 1, { workerData: { shard: 3 } });
 */
export function startWorkerOnNode(filename: string | URL, node: number, options?: WorkerOptions): Worker {
  const fn = 'startWorkerOnNode';
  const file = moduleArgument(filename, fn);
  const { cpus } = cpuNode(fn, nodeArgument(node, fn));
  const memoryNode = bestNodeFor(fn, { node });
  // The compiled package entry, also when this module runs from source (tests).
  const entry = path.join(__dirname, '..', 'dist', 'index.js');
  const preamble = [
    `const numaplace = require(${JSON.stringify(entry)});`,
    `numaplace.pinThread(${JSON.stringify(cpus)});`,
    `numaplace.setThreadPolicy({ mode: 'preferred', nodes: [${memoryNode}] });`,
    // import() loads CommonJS and ES modules alike, and lets the latter await at top level.
    `import(${JSON.stringify(pathToFileURL(file).href)});`,
  ].join('\n');
  const worker = new Worker(preamble, { ...options, eval: true });
  startedOn.set(worker, memoryNode);
  return worker;
}

// The memory node of each worker startWorkerOnNode() started, for keepNear({ worker }):
// weak, so that a worker's entry goes with it.
const startedOn = new WeakMap<Worker, number>();

/** The node whose memory a worker started by startWorkerOnNode() prefers; undefined for another worker. */
export function memoryNodeOfWorker(worker: Worker): number | undefined {
  return startedOn.get(worker);
}
