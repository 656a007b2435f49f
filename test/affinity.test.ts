import { once } from 'node:events';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import t from 'tap';
import {
  allocLocal,
  currentCpu,
  nearestMemoryNode,
  nodeOfCpu,
  nodeOfThread,
  pageNodes,
  pinThread,
  placeNear,
  startWorkerOnNode,
  threadAffinity,
  topology,
} from '../lib/index';
import { multiNodeOrSkip, tally } from './helpers';

t.test('pinThread restricts the calling thread; threadAffinity reads it back', async (t) => {
  const original = threadAffinity();
  t.same(original, topology().allowedCpus, 'initially every allowed CPU');
  const cpu = original.at(-1)!;
  t.same(pinThread([cpu]), [cpu]);
  t.equal(currentCpu().cpu, cpu, 'now running there');
  t.equal(nodeOfThread(), nodeOfCpu(cpu));
  const node = topology().nodes.find((candidate) => candidate.cpus.length > 0)!;
  t.same(pinThread({ node: node.id }), node.cpus, 'pinned to a node: its CPUs');
  t.same(pinThread(original), original, 'restored');
  t.throws(() => pinThread([]), RangeError);
  t.throws(() => pinThread('0' as unknown as number[]), TypeError);
  t.throws(() => nodeOfCpu(100000), { name: 'NumaError', code: 'ENODEV', message: /^nodeOfCpu: CPU 100000 is not online/ });
});

t.test('nodeOfCpu matches topology', async (t) => {
  for (const node of topology().nodes) for (const cpu of node.cpus) t.equal(nodeOfCpu(cpu), node.id);
});

t.test('placeNear moves a view to the node of the pinned thread', async (t) => {
  const original = threadAffinity();
  const nodes = topology().nodes.filter((node) => node.hasCpu && node.hasMemory);
  for (const node of nodes) {
    pinThread({ node: node.id });
    const memory = allocLocal(4 * 2 ** 20);
    memory.fill(5);
    const report = await placeNear(memory);
    t.equal(report.node, node.id);
    t.same(tally(pageNodes(memory)), { [node.id]: report.pages }, `all on node ${node.id}`);
  }
  pinThread(original);
});

t.test('startWorkerOnNode: the worker runs on the node and prefers its memory', async (t) => {
  const nodes = topology().nodes.filter((node) => node.hasCpu && node.hasMemory);
  for (const node of nodes) {
    const worker = startWorkerOnNode(path.join(__dirname, 'fixtures/report-placement.js'), node.id, {
      workerData: { greeting: 'hello' },
    });
    const [report] = await once(worker, 'message');
    await worker.terminate();
    t.equal(report.greeting, 'hello', 'workerData reaches the user code');
    t.equal(report.node, node.id, `running on node ${node.id}`);
    t.same(report.affinity, node.cpus);
    t.same([report.policy.mode, report.policy.nodes], ['preferred', [node.id]]);
  }
  const cpuLess = topology().nodes.find((node) => !node.hasCpu);
  if (cpuLess) t.throws(() => startWorkerOnNode('x.js', cpuLess.id), { name: 'NumaError', code: 'ENODEV', message: new RegExp(`^startWorkerOnNode: node ${cpuLess.id} has no CPUs`) });
});

t.test('startWorkerOnNode: a file: URL, an ES module with top-level await', async (t) => {
  const node = topology().nodes.find((candidate) => candidate.hasCpu && candidate.hasMemory)!;
  const worker = startWorkerOnNode(pathToFileURL(path.join(__dirname, 'fixtures/report-placement.mjs')), node.id, {
    workerData: { greeting: 'from ESM' },
  });
  const [report] = await once(worker, 'message');
  await worker.terminate();
  t.match(report, { esm: true, greeting: 'from ESM', node: node.id, affinity: node.cpus, policy: { mode: 'preferred', nodes: [node.id] } });
  t.throws(() => startWorkerOnNode(new URL('https://example.com/w.js'), node.id), { name: 'RangeError', message: /startWorkerOnNode: .*a file: URL/ });
  t.throws(() => startWorkerOnNode(42 as unknown as string, node.id), { name: 'TypeError', message: /`filename`/ });
});

t.test('a node with CPUs and no memory: workers and placeNear use the nearest node with memory', async (t) => {
  const memoryLess = topology().nodes.find((node) => node.hasCpu && !node.hasMemory);
  if (!memoryLess) {
    t.not(process.env.NUMAPLACE_VM_TOPOLOGY, '4node', 'the 4node guest has one');
    return;
  }
  const nearest = nearestMemoryNode(memoryLess.id);
  const withMemory = topology().nodes.filter((node) => node.hasMemory);
  const closest = Math.min(...withMemory.map((node) => memoryLess.distances[node.id]));
  t.equal(memoryLess.distances[nearest], closest, `node ${nearest} is the nearest with memory`);
  const worker = startWorkerOnNode(path.join(__dirname, 'fixtures/report-placement.js'), memoryLess.id, { workerData: { greeting: 'hi' } });
  const [report] = await once(worker, 'message');
  await worker.terminate();
  t.match(report, { node: memoryLess.id, affinity: memoryLess.cpus, policy: { mode: 'preferred', nodes: [nearest] } });
  const original = threadAffinity();
  pinThread({ node: memoryLess.id });
  const memory = allocLocal(2 * 2 ** 20).fill(3);
  const placed = await placeNear(memory);
  pinThread(original);
  t.equal(placed.node, nearest);
  t.same(tally(pageNodes(memory)), { [nearest]: placed.pages }, `all pages on node ${nearest}`);
});

t.test('multi-node: a pinned thread allocates locally', async (t) => {
  const nodes = multiNodeOrSkip(t);
  if (!nodes) return;
  const original = threadAffinity();
  for (const node of topology().nodes.filter((candidate) => candidate.hasCpu && candidate.hasMemory)) {
    pinThread({ node: node.id });
    const memory = allocLocal(2 * 2 ** 20);
    memory.fill(1);
    t.same(tally(pageNodes(memory)), { [node.id]: memory.length / topology().pageSize }, `first touch on node ${node.id}`);
  }
  pinThread(original);
});
