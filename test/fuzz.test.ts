// Hostile input: every public function called with random arguments — wrong
// types, NaN, negative, huge and fractional numbers, odd views (empty,
// unaligned, detached, shared, WebAssembly memory) and option objects.
// Each call must return or throw a documented error class; a crash or a hang
// fails the run. FUZZ_SEED reproduces a run, FUZZ_ITERATIONS makes it longer.
import t from 'tap';
import * as numaplace from '../lib/index';
import { NumaError, MigrationAbortedError } from '../lib/index';
import { checkedOnHost } from './helpers';

const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
const iterations = Number(process.env.FUZZ_ITERATIONS ?? 2000);

/** xorshift32: the same seed gives the same calls. */
let state = seed || 1;
function random(): number {
  state ^= state << 13;
  state ^= state >>> 17;
  state ^= state << 5;
  return (state >>> 0) / 2 ** 32;
}
function pick<T>(items: readonly T[]): T {
  return items[Math.floor(random() * items.length)];
}

const PAGE = 4096;
const detachedBuffer = new ArrayBuffer(PAGE);
const detachedView = new Uint8Array(detachedBuffer, 8);
structuredClone(detachedBuffer, { transfer: [detachedBuffer] });
// WebAssembly is not in the ES2022 lib: the one constructor needed, typed here.
const { WebAssembly: wasm } = globalThis as unknown as { WebAssembly: { Memory: new (size: { initial: number }) => { buffer: ArrayBuffer } } };
const wasmMemory = new wasm.Memory({ initial: 2 });
const shared = new SharedArrayBuffer(4 * PAGE);

const numbers = [0, 1, 2, 3, 7, -1, -0, 0.5, 1.5, NaN, Infinity, -Infinity, 2 ** 31, 2 ** 32 + 1, 2 ** 53, 1e300, -(2 ** 31), 1023, 1024];
const views: (() => unknown)[] = [
  () => Buffer.alloc(pick([0, 1, 100, PAGE, 3 * PAGE + 5]), 1),
  () => Buffer.allocUnsafeSlow(2 * PAGE).fill(2).subarray(pick([0, 1, 4095])),
  () => new Uint8Array(0),
  () => new Float64Array(pick([0, 1, 1024])),
  () => new DataView(new ArrayBuffer(2 * PAGE), 10, 100),
  () => detachedView,
  () => detachedBuffer,
  () => shared,
  () => new Int32Array(shared, 4, 100),
  () => wasmMemory.buffer,
  () => new Uint8Array(wasmMemory.buffer, pick([0, 17, 65536])),
];
const others: (() => unknown)[] = [
  () => undefined,
  () => null,
  () => pick(numbers),
  () => pick(['', '0', 'bind', 'interleave', 'local', 'x'.repeat(1000)]),
  () => pick([true, false]),
  () => 10n,
  () => Symbol('s'),
  () => () => 0,
  () => ({}),
  () => [],
  () => [pick(numbers), pick(numbers)],
  () => Int32Array.from({ length: pick([0, 1, 2, 4]) }, () => pick(numbers)),
  () => new Int32Array(pick([0, 1, 2, 3, 4])),
];
const optionKeys = ['prefault', 'moveAll', 'status', 'mode', 'nodes', 'move', 'strict', 'expandToPages', 'staticNodes',
  'relativeNodes', 'hugePages', 'asArrayBuffer', 'width', 'maxCells', 'legend', 'chunkPages', 'concurrency', 'onProgress', 'signal', 'node', 'numaBalancing'];

function value(): unknown {
  const kind = random();
  if (kind < 0.35) return pick(views)();
  if (kind < 0.85) return pick(others)();
  const options: Record<string, unknown> = {};
  for (let i = Math.floor(random() * 4); i > 0; i--) options[pick(optionKeys)] = random() < 0.5 ? pick(others)() : pick(views)();
  return options;
}

// Calls that would change this test process beyond the call itself get safe
// stand-ins for the process id; pinThread and setThreadPolicy are undone below.
const nodeIds = [0, 1, 2, 3, 63, 64, 1023, 1024, -1, 1.5, NaN];

/** Half the calls get the right shape — a view, a node id, an options object — so that they reach the kernel. */
function plausible(): unknown[] {
  const options: Record<string, unknown> = {};
  for (let i = Math.floor(random() * 3); i > 0; i--) {
    options[pick(optionKeys)] = pick([true, false, pick(nodeIds), [pick(nodeIds)], pick(['bind', 'preferred', 'interleave', 'local', 'default'])]);
  }
  return [pick(views)(), pick(nodeIds), options];
}

function argumentsFor(name: string): unknown[] {
  const args = random() < 0.5 ? plausible() : Array.from({ length: Math.floor(random() * 4) }, value);
  if (name.startsWith('migrateProcess') && typeof args[0] === 'number') args[0] = pick([0, process.pid, -1, 1.5, 2 ** 40]);
  if (name.startsWith('alloc') && typeof args[0] === 'number' && args[0] > 2 ** 32) args[0] = pick([2 ** 40, 2 ** 53]);
  return args;
}

const DOCUMENTED = [TypeError, RangeError, NumaError, MigrationAbortedError];
// startWorkerOnNode starts threads from a file name: tested with real files in affinity.test.ts.
// setInterleaveWeights changes the whole system's weights: tested in weighted.test.ts, which restores them.
// clusterForkOnNode(node) forks this test file as a cluster worker, which runs it again: tested in children.test.ts.
const SKIPPED = new Set(['startWorkerOnNode', 'setInterleaveWeights', 'clusterForkOnNode']);

t.test(`every public function survives random arguments (seed ${seed}, ${iterations} calls)`, async (t) => {
  if (checkedOnHost(t, 'fuzzing (2,000 calls, 20 s under emulation)')) return;
  const functions = Object.entries(numaplace as Record<string, unknown>).filter(
    (entry): entry is [string, (...args: unknown[]) => unknown] => typeof entry[1] === 'function' && !/^class /.test(String(entry[1])) && !SKIPPED.has(entry[0]),
  );
  const affinity = numaplace.threadAffinity();
  const policy = numaplace.threadPolicy();
  const outcomes = new Map<string, number>();
  const undocumented: string[] = [];
  for (let i = 0; i < iterations; i++) {
    const [name, fn] = pick(functions);
    const args = argumentsFor(name);
    let outcome = 'returned';
    try {
      const result = fn(...args);
      if (result instanceof Promise) await result;
    } catch (error) {
      outcome = (error as Error)?.name ?? typeof error;
      if (!DOCUMENTED.some((kind) => error instanceof kind)) {
        undocumented.push(`${name}(${args.map((arg) => describe(arg)).join(', ')}) threw ${String(error)}`);
      }
    } finally {
      if (name === 'pinThread') numaplace.pinThread(affinity);
      if (name === 'setThreadPolicy') numaplace.setThreadPolicy({ mode: policy.mode === 'default' ? 'default' : policy.mode, nodes: policy.nodes });
    }
    outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
  }
  t.same(undocumented, [], 'every error is a TypeError, RangeError, NumaError or MigrationAbortedError');
  t.ok((outcomes.get('returned') ?? 0) > 0 && (outcomes.get('TypeError') ?? 0) > 0, `outcomes: ${JSON.stringify(Object.fromEntries(outcomes))}`);
  t.same(numaplace.threadAffinity(), affinity, 'the thread affinity is as before');
});

function describe(value: unknown): string {
  if (ArrayBuffer.isView(value)) return `${value.constructor.name}(${value.byteLength})`;
  if (value instanceof ArrayBuffer || value instanceof SharedArrayBuffer) return `${value.constructor.name}(${value.byteLength})`;
  if (typeof value === 'bigint' || typeof value === 'symbol' || typeof value === 'function') return typeof value;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
