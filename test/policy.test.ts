import { constants } from 'node:os';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import t from 'tap';
import {
  allocLocal,
  allocOnNode,
  bindBuffer,
  bufferPolicy,
  capabilities,
  nodeOfAddress,
  PAGE_NOT_PRESENT,
  pageNodes,
  setHomeNode,
  setThreadPolicy,
  threadPolicy,
  topology,
} from '../lib/index';
import { absentNode, checksum, memoryNodeIds, multiNodeOrSkip, readMapsZeroPage, runAsNobody, tally } from './helpers';

const PAGE = topology().pageSize;
const MiB = 2 ** 20;

t.test('bindBuffer sets a policy that bufferPolicy reads back', async (t) => {
  const node = memoryNodeIds()[0];
  const memory = allocLocal(4 * MiB);
  t.same(bufferPolicy(memory).mode, 'local');
  const report = bindBuffer(memory, { mode: 'bind', nodes: [node] });
  t.same(report.policy, { mode: 'bind', nodes: [node], flags: { staticNodes: false, relativeNodes: false, numaBalancing: false } });
  t.same(bufferPolicy(memory), report.policy, 'read back with get_mempolicy(MPOL_F_ADDR)');
  t.same(report.beyondView, { before: 0, after: 0 });
  t.equal(report.pages, (4 * MiB) / PAGE);
  bindBuffer(memory.subarray(PAGE, 2 * PAGE), { mode: 'interleave', nodes: [node], staticNodes: true });
  t.same(bufferPolicy(memory.subarray(PAGE)).mode, 'interleave', 'a page-aligned part gets its own policy');
  t.same(bufferPolicy(memory.subarray(PAGE)).flags.staticNodes, true);
  t.same(bufferPolicy(memory).mode, 'bind', 'the rest keeps its own');
  bindBuffer(memory, { mode: 'default' });
  t.same(bufferPolicy(memory).mode, 'default');
});

t.test('a view that is not whole pages is refused unless expandToPages', async (t) => {
  const node = memoryNodeIds()[0];
  const memory = allocLocal(4 * PAGE);
  const view = memory.subarray(100, PAGE + 50);
  t.throws(() => bindBuffer(view, { mode: 'bind', nodes: [node] }), { name: 'RangeError', message: /bindBuffer: .*100 bytes before .*expandToPages/ });
  t.same(bufferPolicy(memory).mode, 'local', 'nothing changed');
  const report = bindBuffer(view, { mode: 'bind', nodes: [node], expandToPages: true });
  t.same(report.beyondView, { before: 100, after: 2 * PAGE - PAGE - 50 }, 'the report names the bytes beyond the view');
  t.equal(report.pages, 2);
  t.same(bufferPolicy(memory.subarray(PAGE)).mode, 'bind');
  t.same(bufferPolicy(memory.subarray(2 * PAGE)).mode, 'local', 'the page after the span is untouched');
});

t.test('bindBuffer with move migrates existing pages; strict', async (t) => {
  const nodes = memoryNodeIds();
  const memory = allocLocal(8 * MiB);
  memory.fill(3);
  const digest = checksum(memory);
  for (const node of nodes) {
    bindBuffer(memory, { mode: 'bind', nodes: [node], move: true, strict: true });
    t.same(tally(pageNodes(memory)), { [node]: memory.length / PAGE }, `all pages on node ${node}`);
    t.equal(checksum(memory), digest);
  }
});

t.test('policy arguments are checked before any syscall', async (t) => {
  const memory = allocLocal(PAGE);
  t.throws(() => bindBuffer(memory, { mode: 'nearby' as 'bind', nodes: [0] }), { name: 'TypeError', message: /options\.mode/ });
  t.throws(() => bindBuffer(memory, { mode: 'bind', nodes: [] }), { name: 'RangeError', message: /at least one node/ });
  t.throws(() => bindBuffer(memory, { mode: 'local', nodes: [0] }), { name: 'RangeError', message: /no nodes for mode 'local'/ });
  t.throws(() => bindBuffer(memory, { mode: 'preferred', nodes: [0, 1] }), { name: 'RangeError', message: /exactly one node/ });
  t.throws(() => bindBuffer(memory, { mode: 'bind', nodes: [-1] }), { name: 'RangeError', message: /options\.nodes\[0\]/ });
  t.throws(() => bindBuffer(memory, undefined as unknown as { mode: 'bind' }), { name: 'TypeError' });
  t.throws(() => bindBuffer(memory, { mode: 'bind', nodes: [absentNode()] }), { name: 'NumaError', code: 'ENODEV' });
  t.throws(() => nodeOfAddress(Buffer.alloc(0)), RangeError);
});

t.test('nodeOfAddress reports the node of the page of the first byte', async (t) => {
  const node = memoryNodeIds()[0];
  const memory = allocOnNode(PAGE * 2, node);
  memory[PAGE] = 1;
  t.equal(nodeOfAddress(memory.subarray(PAGE)), node, 'a written page');
  t.equal(pageNodes(memory.subarray(PAGE))[0], node, 'as pageNodes says');
  t.equal(pageNodes(memory)[0], PAGE_NOT_PRESENT, 'a never-written page has no page');
  t.equal(nodeOfAddress(memory), nodeOfAddress(memory), 'its read fault maps the shared zero page, where the kernel has one');
  t.equal(pageNodes(memory)[0], readMapsZeroPage() ? PAGE_NOT_PRESENT : node, 'still not a page of its own (else one on the node)');
});

t.test('thread policy: set in a worker, read back there, the main thread unchanged', async (t) => {
  const node = memoryNodeIds().at(-1)!;
  const before = threadPolicy();
  const worker = new Worker(
    `const { parentPort, workerData } = require('node:worker_threads');
     const numaplace = require(workerData.lib);
     numaplace.setThreadPolicy({ mode: 'bind', nodes: [workerData.node] });
     parentPort.postMessage(numaplace.threadPolicy());`,
    { eval: true, workerData: { lib: require.resolve('../dist/index.js'), node } },
  );
  const [inWorker] = await once(worker, 'message');
  await worker.terminate();
  t.same(inWorker, { mode: 'bind', nodes: [node], flags: { staticNodes: false, relativeNodes: false, numaBalancing: false } });
  t.same(threadPolicy(), before, 'the main thread keeps its policy');
  const set = setThreadPolicy({ mode: 'preferred', nodes: [node] });
  t.same([set.mode, set.nodes], ['preferred', [node]]);
  const balanced = setThreadPolicy({ mode: 'bind', nodes: [node], numaBalancing: true });
  t.same(balanced.flags.numaBalancing, true, 'MPOL_F_NUMA_BALANCING read back');
  setThreadPolicy({ mode: 'default' });
  t.same(threadPolicy().mode, 'default');
});

t.test('capabilities: probed modes, home node, MOVE_ALL', async (t) => {
  const caps = capabilities();
  t.equal(caps, capabilities(), 'cached');
  for (const mode of ['default', 'bind', 'interleave', 'local', 'preferred'] as const) t.ok(caps.modes[mode].supported, mode);
  t.same(caps.memsAllowed, topology().allowedMems);
  t.equal(caps.moveAll.supported, process.getuid?.() === 0, 'CAP_SYS_NICE as root');
  const [major, minor] = caps.kernel.split('.').map(Number);
  const atLeast = (want: number, wantMinor: number) => major > want || (major === want && minor >= wantMinor);
  t.equal(caps.modes['weighted-interleave'].supported, atLeast(6, 9), `weighted interleave on ${caps.kernel}`);
  t.equal(caps.homeNode.supported, atLeast(5, 17), `home node on ${caps.kernel}`);
  if (caps.modes['weighted-interleave'].supported) {
    // Linux 6.9+ (the 6.12 guest): the policy sets, reads back, and places pages on its nodes.
    const nodes = memoryNodeIds();
    const memory = allocLocal(64 * PAGE);
    bindBuffer(memory, { mode: 'weighted-interleave', nodes });
    t.match(bufferPolicy(memory), { mode: 'weighted-interleave', nodes }, 'weighted interleave reads back');
    memory.fill(1);
    const where = tally(pageNodes(memory));
    t.same(Object.keys(where).map(Number).filter((node) => !nodes.includes(node)), [], `pages on its nodes: ${JSON.stringify(where)}`);
    if (nodes.length >= 2) t.ok(Object.keys(where).length >= 2, 'spread over more than one node');
  } else {
    t.match(caps.modes['weighted-interleave'].reason, /Linux 6\.9\+/);
    t.throws(() => bindBuffer(allocLocal(PAGE), { mode: 'weighted-interleave', nodes: [0] }), {
      name: 'NumaError',
      code: 'ENOTSUP',
      errno: -constants.errno.EOPNOTSUPP,
      message: /weighted-interleave.*Linux 6\.9/,
    });
  }
});

t.test('setHomeNode on a bound range', async (t) => {
  const nodes = memoryNodeIds();
  // Small pages: 6.1 allocates a huge page on the faulting CPU's node when it is bound, home node or not.
  const memory = allocLocal(2 * MiB, { hugePages: false });
  bindBuffer(memory, { mode: 'bind', nodes });
  const range = setHomeNode(memory, nodes[0]);
  t.equal(range.pages, (2 * MiB) / PAGE);
  memory.fill(1);
  const where = tally(pageNodes(memory));
  t.same(where, { [nodes[0]]: range.pages }, `pages allocated on the home node: ${JSON.stringify(where)}`);
  t.throws(() => setHomeNode(Buffer.from('not aligned'), 0), RangeError);
  // A node that is not online is named as such, not blamed on the range's policy.
  t.throws(() => setHomeNode(memory, 99), { name: 'NumaError', code: 'ENODEV', message: /^setHomeNode: node 99 is not online/ });
  const unbound = allocLocal(MiB);
  t.throws(() => setHomeNode(unbound, nodes[0]), { name: 'NumaError', code: 'EINVAL', message: /needs a 'bind' or 'preferred-many' policy/ });
  // Bound at its start only: the kernel would skip the rest without a word.
  const half = allocLocal(2 * MiB, { hugePages: false });
  bindBuffer(half.subarray(0, MiB), { mode: 'bind', nodes });
  t.throws(() => setHomeNode(half, nodes[0]), { name: 'NumaError', code: 'EINVAL', message: /^setHomeNode: the range's policy is 'local' in part \(EINVAL\)/ });
  t.doesNotThrow(() => setHomeNode(half.subarray(0, MiB), nodes[0]), 'its bound half is fine');
});

t.test("moveAll without CAP_SYS_NICE: EPERM that says why, from every function", async (t) => {
  if (process.getuid?.() !== 0) {
    t.plan(0, 'needs root to run a child as another user');
    return;
  }
  const script = `
    const n = require('./dist');
    const buffer = Buffer.alloc(8192, 1);
    const node = n.nearestMemoryNode(n.currentCpu().node);
    const caught = (call) => { try { call(); return 'no error'; } catch (e) { return { name: e.name, code: e.code, syscall: e.syscall, message: e.message }; } };
    console.log(JSON.stringify({
      migrate: caught(() => n.migrateBufferSync(buffer, node, { moveAll: true })),
      movePages: caught(() => n.movePagesSync(buffer, new Int32Array(n.pageNodes(buffer).length).fill(node), { moveAll: true })),
      bind: caught(() => n.bindBuffer(buffer, { mode: 'bind', nodes: [node], moveAll: true, expandToPages: true })),
    }));`;
  const out = JSON.parse(runAsNobody(script));
  for (const name of ['migrate', 'movePages', 'bind']) {
    // Refused before any system call: no syscall to name.
    t.match(out[name], { name: 'NumaError', code: 'EPERM', message: /options\.moveAll .*CAP_SYS_NICE/ }, name);
    t.equal(out[name].syscall, undefined, `${name}: no syscall was made`);
  }
});

t.test('multi-node: bind with move between real nodes', async (t) => {
  const nodes = multiNodeOrSkip(t);
  if (!nodes) return;
  const memory = allocOnNode(16 * MiB, nodes[0]);
  memory.fill(9);
  t.same(tally(pageNodes(memory)), { [nodes[0]]: memory.length / PAGE });
  const report = bindBuffer(memory, { mode: 'bind', nodes: [nodes[1]], move: true, strict: true });
  t.same(report.policy.nodes, [nodes[1]]);
  t.same(tally(pageNodes(memory)), { [nodes[1]]: memory.length / PAGE }, 'moved by mbind(MPOL_MF_MOVE)');
  t.ok(memory.every((byte) => byte === 9));
  setHomeNode(memory, nodes[1]);
});
