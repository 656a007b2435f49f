import t from 'tap';
import { allocOnNode, bestNode, nearestMemoryNode, topology } from '../lib/index';
import { type NumaNode, rankMemoryNodes } from '../lib/topology';
import { collectGarbage } from './helpers';
import topologies from './vm/topologies.json';

const MiB = 2 ** 20;

/** A node as topology() gives it, with only what ranking reads. */
function node(id: number, distances: number[], access: NumaNode['access'] = null): NumaNode {
  return { id, cpus: [], memTotal: 1, memFree: 1, hasCpu: false, hasMemory: true, distances: { ...distances }, access };
}

const hmat = (initiators: number[], latency: number, bandwidth: number): NumaNode['access'] => ({
  initiators,
  readLatencyNs: latency,
  writeLatencyNs: latency,
  readBandwidthMBps: bandwidth,
  writeBandwidthMBps: bandwidth,
});

t.test('ranking: HMAT figures that cover the initiator first, then distance, then id', async (t) => {
  // Node 0 local DRAM, node 1 remote DRAM (its own CPUs are its best initiators), node 2 slow
  // memory attached to node 0 (CXL-like), node 3 like node 1 but nearer by the firmware's distance.
  const local = node(0, [10, 21, 28, 20], hmat([0], 20, 20000));
  const remote = node(1, [21, 10, 32, 20], hmat([1], 20, 20000));
  const attached = node(2, [28, 32, 10, 30], hmat([0], 90, 4000));
  const near = node(3, [20, 20, 30, 10], hmat([3], 20, 20000));
  const ids = (nodes: NumaNode[]) => nodes.map((candidate) => candidate.id);
  t.same(ids(rankMemoryNodes([remote, attached, near, local], local, 'latency')), [0, 2, 3, 1], 'known figures by latency, then distance');
  t.same(ids(rankMemoryNodes([remote, attached, near, local], local, 'bandwidth')), [0, 2, 3, 1], 'known figures by bandwidth');
  t.same(ids(rankMemoryNodes([remote, attached, near, local], local, 'distance')), [0, 3, 1, 2], 'distance ignores HMAT');
  const faster = node(4, [], hmat([0], 20, 30000));
  t.same(ids(rankMemoryNodes([local, faster], local, 'bandwidth')), [4, 0], 'more bandwidth first');
  t.same(ids(rankMemoryNodes([faster, local], local, 'latency')), [0, 4], 'equal latency: distance (unknown = last), then id');
  const noHmat = [node(1, [21, 10]), node(0, [10, 21])];
  t.same(ids(rankMemoryNodes(noHmat, noHmat[1], 'latency')), [0, 1], 'without HMAT, latency falls back to distance');
});

t.test('bestNode on this machine: its own node for its CPUs, the nearest node with memory for the rest', async (t) => {
  const machine = topology();
  for (const cpuNode of machine.nodes.filter((candidate) => candidate.hasCpu)) {
    for (const by of ['latency', 'bandwidth', 'distance'] as const) {
      const expected = nearestMemoryNode(cpuNode.id);
      t.equal(bestNode({ near: { cpu: cpuNode.cpus[0] }, by }), expected, `near CPU ${cpuNode.cpus[0]} (node ${cpuNode.id}) by ${by}: node ${expected}`);
    }
  }
  for (const memoryNode of machine.nodes.filter((candidate) => candidate.hasMemory)) {
    t.equal(bestNode({ near: { node: memoryNode.id } }), memoryNode.id, `near node ${memoryNode.id}: itself`);
  }
  for (const device of machine.devices.filter((candidate) => candidate.node !== null)) {
    t.equal(bestNode({ near: { device: device.address } }), device.node, `near ${device.kind} ${device.address}: its node`);
  }
  const unplaced = machine.devices.find((device) => device.node === null);
  const memoryNodes = machine.nodes.filter((candidate) => candidate.hasMemory);
  if (unplaced && memoryNodes.length === 1) {
    t.equal(bestNode({ near: { device: unplaced.address } }), memoryNodes[0].id, 'a device without a node, one memory node: that node');
  } else if (unplaced) {
    t.throws(() => bestNode({ near: { device: unplaced.address } }), { name: 'NumaError', code: 'ENODEV', message: /gives device .* no NUMA node/ });
  }
  const most = Math.max(...memoryNodes.map((candidate) => candidate.memFree));
  t.throws(() => bestNode({ near: { node: memoryNodes[0].id }, minFreeBytes: most + 2 ** 40 }), {
    name: 'NumaError',
    code: 'ENOMEM',
    message: /^bestNode: no node this process may allocate on has \d+ bytes free \(ENOMEM\); free bytes: node \d+ \d+/,
  });
});

t.test('bestNode in the HMAT guest: figures from the firmware decide, distances where they are silent', async (t) => {
  if (process.env.NUMAPLACE_VM_TOPOLOGY !== '3node-hmat') {
    t.plan(0, 'runs in the 3node-hmat QEMU guest');
    return;
  }
  const spec = topologies['3node-hmat'];
  const machine = topology();
  const guestOf = spec.nodes.map((wanted) => machine.nodes.find((candidate) => candidate.cpus.join() === wanted.cpus.join())!);
  const [zero, one, slow] = guestOf.map((guest) => guest.id);
  t.equal(bestNode({ near: { node: zero } }), zero, 'near node 0: itself');
  t.equal(bestNode({ near: { cpu: guestOf[1].cpus[0] }, by: 'bandwidth' }), one, 'near the CPU of node 1: node 1');
  t.equal(bestNode({ near: { node: slow } }), slow, 'near the memory-only node: itself');
  const nic = machine.devices.find((device) => device.kind === 'network')!;
  t.equal(bestNode({ near: { device: nic.address } }), one, 'near the NIC: node 1, where its expander bridge is');
  // Node 0 full for this purpose: the slow node (attached to node 0, figures known from it) beats
  // remote DRAM on latency only because the kernel gives no figure for node 1 from node 0; by
  // distance remote DRAM wins. The slow node is the smallest: node 0 is filled until it has 64 MiB
  // less free than the others, and the threshold sits halfway. Free memory moves, so the answers
  // count only when a reading after them still puts the threshold between node 0 and the others.
  const free = () => {
    const nodes = topology().nodes;
    return guestOf.map((guest) => nodes.find((node) => node.id === guest.id)!.memFree);
  };
  const [free0, free1, free2] = free();
  let filler: Buffer | undefined = allocOnNode(Math.max(MiB, free0 - Math.min(free1, free2) + 64 * MiB), zero, { hugePages: false }).fill(1);
  t.teardown(async () => {
    filler = undefined;
    await collectGarbage();
  });
  for (let attempt = 1; ; attempt++) {
    const before = free();
    const minFreeBytes = Math.floor((before[0] + Math.min(before[1], before[2])) / 2);
    const byLatency = bestNode({ near: { node: zero }, minFreeBytes });
    const byDistance = bestNode({ near: { node: zero }, minFreeBytes, by: 'distance' });
    const after = free();
    const between = (reading: number[]) => reading[0] < minFreeBytes && Math.min(reading[1], reading[2]) >= minFreeBytes;
    if (attempt < 5 && !(between(before) && between(after))) continue;
    t.ok(between(before), `node 0 below the threshold, the others above it: ${before.join(', ')} bytes free, ${minFreeBytes} asked for (${filler.length} bytes held on node 0)`);
    t.equal(byLatency, slow, 'node 0 too full: by latency, the node whose figures cover node 0');
    t.equal(byDistance, one, 'by distance: remote DRAM');
    break;
  }
});

t.test('bestNode checks its options and names what is wrong', async (t) => {
  const cases: [unknown, RegExp, string][] = [
    [undefined, /^bestNode: expected \{ cpu \}, \{ node \} or \{ device \} for `options.near` but received undefined/, 'TypeError'],
    [{}, /^bestNode: expected \{ cpu \}, \{ node \} or \{ device \} for `options.near`/, 'TypeError'],
    [{ near: { cpu: 0, node: 0 } }, /exactly one of/, 'RangeError'],
    [{ near: { socket: 0 } }, /exactly one of/, 'RangeError'],
    [{ near: { device: 42 } }, /a PCI address .* for `options.near.device`/, 'TypeError'],
    [{ near: { node: 0 }, by: 'speed' }, /one of 'latency', 'bandwidth', 'distance' for `options.by`/, 'RangeError'],
    [{ near: { node: 0 }, minFreeBytes: -1 }, /a whole number of bytes, 0 or more for `options.minFreeBytes`/, 'RangeError'],
    [{ near: { node: 0 }, minFree: 1 }, /^bestNode: unknown option `options.minFree` \(did you mean `minFreeBytes`\?\)/, 'TypeError'],
  ];
  for (const [options, message, name] of cases) {
    t.throws(() => bestNode(options as Parameters<typeof bestNode>[0]), { name, message }, JSON.stringify(options) ?? 'undefined');
  }
  // What this machine does not have: ENODEV, as from every function.
  const missing: [unknown, RegExp][] = [
    [{ near: { cpu: 1e6 } }, /^bestNode: CPU 1000000 is not online/],
    [{ near: { node: 999 } }, /^bestNode: node 999 is not online/],
    [{ near: { device: 'ffff:ff:ff.7' } }, /^bestNode: there is no PCI device ffff:ff:ff.7 here/],
  ];
  for (const [options, message] of missing) {
    t.throws(() => bestNode(options as Parameters<typeof bestNode>[0]), { name: 'NumaError', code: 'ENODEV', message }, JSON.stringify(options));
  }
});
