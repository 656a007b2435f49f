import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import t from 'tap';
import { native } from '../lib/binding';
import { allocInterleaved, allocLocal, allocOnNode, bufferPolicy, pageNodes, topology } from '../lib/index';
import { absentNode, checkedOnHost, childEnv, memoryNodeIds, multiNodeOrSkip, tally } from './helpers';

const PAGE = topology().pageSize;
const MiB = 2 ** 20;

t.test('allocOnNode: page-aligned, bound before first touch, every page on the node', async (t) => {
  for (const node of memoryNodeIds()) {
    const memory = allocOnNode(16 * MiB, node);
    t.ok(Buffer.isBuffer(memory));
    t.equal(memory.length, 16 * MiB);
    t.equal(memory.byteOffset, 0);
    t.same(bufferPolicy(memory).nodes, [node]);
    t.equal(tally(pageNodes(memory))[-2], memory.length / PAGE, 'untouched: no page yet');
    memory.fill(1);
    t.same(tally(pageNodes(memory)), { [node]: memory.length / PAGE }, `after first write: all on node ${node}`);
  }
});

t.test('ArrayBuffer form, odd sizes, local and interleaved', async (t) => {
  const node = memoryNodeIds()[0];
  const memory = allocOnNode(PAGE + 1, node, { arrayBuffer: true });
  t.ok(memory instanceof ArrayBuffer);
  t.equal(memory.byteLength, PAGE + 1);
  new Uint8Array(memory).fill(7);
  t.same(tally(pageNodes(memory)), { [node]: 2 });
  const local = allocLocal(MiB);
  t.equal(bufferPolicy(local).mode, 'local');
  const spread = allocInterleaved(MiB, memoryNodeIds(), { hugePages: false });
  t.equal(bufferPolicy(spread).mode, 'interleave');
});

const hugePageFile = '/sys/kernel/mm/transparent_hugepage/hpage_pmd_size';
const noHugePages = !existsSync(hugePageFile) && 'no transparent huge pages in this kernel';
t.test('from one huge page up, memory starts on a huge-page boundary; the spare reservation is returned', { skip: noHugePages }, async (t) => {
  const huge = BigInt(readFileSync(hugePageFile, 'utf8').trim());
  const node = memoryNodeIds()[0];
  const mappings = () => readFileSync('/proc/self/maps', 'utf8').split('\n').filter(Boolean).map((line) => line.split(' ')[0].split('-').map((hex) => BigInt(`0x${hex}`)));
  for (const [what, memory] of [
    ['allocOnNode, 2 huge pages and a page', allocOnNode(2 * Number(huge) + PAGE, node)],
    ['allocLocal, 1 huge page', allocLocal(Number(huge))],
    ['allocInterleaved, 3 huge pages', allocInterleaved(3 * Number(huge), [node])],
  ] as const) {
    const { address } = native.spanOf(memory);
    t.equal(address % huge, 0n, `${what}: aligned`);
    // The mapping (its own: its policy differs from its neighbours') ends where the buffer does.
    const end = address + BigInt(Math.ceil(memory.length / PAGE) * PAGE);
    const mapping = mappings().find(([start, stop]) => start <= address && address < stop);
    t.same(mapping, [address, end], `${what}: the mapping is the buffer's pages, no more`);
  }
  const small = allocLocal(3 * PAGE);
  t.equal(native.spanOf(small).address % BigInt(PAGE), 0n, 'smaller: page-aligned');
});

t.test('bad arguments and unusable nodes', async (t) => {
  t.throws(() => allocOnNode(0, 0), { name: 'RangeError', message: /allocOnNode: .*`size`/ });
  t.throws(() => allocOnNode(2 ** 50, 0), { name: 'RangeError', message: /^allocOnNode: expected a whole number of bytes from 1 to 2\^47 - 1 for `size` but received number 1125899906842624$/ });
  t.throws(() => allocOnNode(1.5, 0), { name: 'RangeError' });
  t.throws(() => allocOnNode('1' as unknown as number, 0), { name: 'TypeError' });
  t.throws(() => allocOnNode(PAGE, -1), { name: 'RangeError', message: /`node`/ });
  t.throws(() => allocOnNode(PAGE, absentNode()), { name: 'NumaError', code: 'ENODEV', message: /not online/ });
  t.throws(() => allocInterleaved(PAGE, []), { name: 'RangeError' });
  t.throws(() => allocLocal(PAGE, { hugePages: 'yes' as unknown as boolean }), { name: 'TypeError', message: /hugePages/ });
});

t.test('memory is accounted to V8 and unmapped when collected, as cheaply as a Buffer', async (t) => {
  if (checkedOnHost(t, 'accounting to V8 (no NUMA in it)')) return;
  // A child with --expose-gc: 1,000 buffers of 1 MiB allocated, written and dropped, a collection
  // every 100 and a turn of the event loop after it (Node-API runs finalizers there); the same
  // loop with Buffer.alloc in another child for comparison.
  const loop = (allocate: string) => `
    const { allocOnNode } = require(${JSON.stringify(require.resolve('../dist/index.js'))});
    const before = process.memoryUsage().external;
    const first = ${allocate};
    const accounted = process.memoryUsage().external - before;
    first.fill(1);
    (async () => {
      for (let i = 0; i < 1000; i++) {
        (${allocate}).fill(1);
        if (i % 100 === 99) {
          global.gc();
          await new Promise(setImmediate);
        }
      }
      console.log(JSON.stringify({ accounted, rss: process.memoryUsage().rss }));
    })();`;
  const run = (allocate: string) => JSON.parse(execFileSync(process.execPath, ['--expose-gc', '-e', loop(allocate)], { encoding: 'utf8', env: childEnv() }));
  const placed = run(`allocOnNode(2 ** 20, ${memoryNodeIds()[0]})`);
  const plain = run('Buffer.alloc(2 ** 20)');
  t.ok(placed.accounted >= MiB, `external memory grew by ${placed.accounted} bytes for one buffer`);
  t.ok(placed.rss <= 2 * plain.rss, `RSS ${Math.round(placed.rss / MiB)} MiB after 1,000 dropped allocOnNode buffers, ${Math.round(plain.rss / MiB)} MiB with Buffer.alloc`);
});

t.test('a transferred allocOnNode buffer: the receiver gets a copy, the memory stays where it was', async (t) => {
  const node = memoryNodeIds()[0];
  const memory = allocOnNode(4 * PAGE, node).fill(5);
  let received: ArrayBuffer;
  try {
    const buffer = memory.buffer as ArrayBuffer;
    received = structuredClone(buffer, { transfer: [buffer] });
  } catch (error) {
    // Node 21+ refuses to transfer memory it did not allocate.
    t.match(error, { name: 'DataCloneError' });
    t.equal(memory.length, 4 * PAGE, 'the memory stays the sender\'s');
    return;
  }
  t.equal(memory.length, 4 * PAGE, 'Node 20 copies it instead: the sender keeps its memory');
  t.same(bufferPolicy(memory).nodes, [node], 'with its policy');
  t.equal(new Uint8Array(received)[0], 5, 'the receiver has the bytes');
  t.equal(bufferPolicy(received).mode, 'default', 'in memory of its own, without the policy');
});

t.test('multi-node: interleave splits pages evenly; CPU-less node is a target; memory-less is not', async (t) => {
  const nodes = multiNodeOrSkip(t);
  if (!nodes) return;
  const pair = nodes.slice(0, 2);
  // Without huge pages: a 2 MiB huge page is placed as a whole.
  const spread = allocInterleaved(8 * MiB, pair, { hugePages: false });
  spread.fill(2);
  const counts = tally(pageNodes(spread));
  t.same(Object.keys(counts).map(Number).sort(), [...pair].sort(), 'pages on both nodes');
  t.ok(Math.abs(counts[pair[0]] - counts[pair[1]]) <= 1, `split within ±1: ${JSON.stringify(counts)}`);
  const all = topology().nodes;
  const cpuLess = all.find((node) => node.hasMemory && !node.hasCpu);
  const memoryLess = all.find((node) => !node.hasMemory);
  if (cpuLess) {
    const memory = allocOnNode(4 * MiB, cpuLess.id);
    memory.fill(1);
    t.same(tally(pageNodes(memory)), { [cpuLess.id]: memory.length / PAGE }, `all on CPU-less node ${cpuLess.id}`);
  }
  if (memoryLess) {
    t.throws(() => allocOnNode(MiB, memoryLess.id), { name: 'NumaError', code: 'ENODEV', message: /has no memory/ });
  }
  t.ok(cpuLess && memoryLess ? true : process.env.NUMAPLACE_VM_TOPOLOGY !== '4node', 'the 4node guest has both kinds');
});
