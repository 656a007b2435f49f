import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import t from 'tap';
import { currentCpu, parseIdList, topology } from '../lib/index';
import { deviceKind } from '../lib/topology';
import topologies from './vm/topologies.json';

const MiB = 2 ** 20;

const sysfs = (file: string) => readFileSync(`/sys/devices/system/node/${file}`, 'utf8').trim();

t.test('parseIdList reads the kernel list format', async (t) => {
  t.same(parseIdList('0-3,8,10-11\n'), [0, 1, 2, 3, 8, 10, 11]);
  t.same(parseIdList('\n'), []);
  t.same(parseIdList('5'), [5]);
});

t.test('topology matches /sys/devices/system/node', async (t) => {
  const topo = topology();
  t.same(topo.online, parseIdList(sysfs('online')));
  t.same(topo.possible, parseIdList(sysfs('possible')));
  t.same(topo.nodes.map((node) => node.id), topo.online);
  for (const node of topo.nodes) {
    t.same(node.cpus, parseIdList(sysfs(`node${node.id}/cpulist`)), `cpus of node ${node.id}`);
    t.equal(node.hasCpu, node.cpus.length > 0, `hasCpu of node ${node.id}`);
    t.equal(node.hasMemory, parseIdList(sysfs('has_memory')).includes(node.id));
    t.equal(node.distances[node.id], 10, `local distance of node ${node.id}`);
    t.ok(node.memFree <= node.memTotal, 'memFree <= memTotal');
    if (node.hasMemory) t.ok(node.memTotal > 0, `node ${node.id} has memory`);
  }
  const status = readFileSync('/proc/self/status', 'utf8');
  t.same(topo.allowedMems, parseIdList(/Mems_allowed_list:\s*(.*)/.exec(status)![1]));
  t.same(topo.allowedCpus, parseIdList(/Cpus_allowed_list:\s*(.*)/.exec(status)![1]));
});

t.test('HMAT figures, memory tiers and PCI devices match sysfs', async (t) => {
  const topo = topology();
  for (const node of topo.nodes) {
    const described = existsSync(`/sys/devices/system/node/node${node.id}/access0/initiators`);
    // The figures themselves are checked against what QEMU was told, in the HMAT guest (multinode.test.ts).
    t.equal(node.access !== null, described, `node ${node.id}: access ${described ? 'read' : 'null: the firmware gives no HMAT'}`);
  }
  const tiers = '/sys/devices/virtual/memory_tiering';
  const tierNames = existsSync(tiers) ? readdirSync(tiers).filter((name) => /^memory_tier\d+$/.test(name)) : [];
  t.same(
    topo.memoryTiers,
    tierNames
      .map((name) => ({ id: Number(name.slice(11)), nodes: parseIdList(readFileSync(`${tiers}/${name}/nodelist`, 'utf8')) }))
      .sort((a, b) => a.id - b.id),
    `memory tiers: ${JSON.stringify(topo.memoryTiers)}`,
  );
  const pci = '/sys/bus/pci/devices';
  const read = (address: string, file: string) => Number(readFileSync(`${pci}/${address}/${file}`, 'utf8'));
  const addresses = existsSync(pci) ? readdirSync(pci).filter((address) => read(address, 'class') >> 16 !== 0x06) : [];
  t.same(topo.devices.map((device) => device.address), addresses.sort(), 'every PCI device but bridges');
  for (const device of topo.devices) {
    const node = read(device.address, 'numa_node');
    t.equal(device.node, node < 0 ? null : node, `${device.address}: node`);
    t.equal(device.vendor, read(device.address, 'vendor'), `${device.address}: vendor`);
  }
});

t.test('deviceKind names a device by its PCI class', async (t) => {
  const kinds: [number, string][] = [
    [0x020000, 'network'], // Ethernet
    [0x0c0600, 'network'], // InfiniBand
    [0x030000, 'gpu'], // VGA
    [0x030200, 'gpu'], // 3D controller (data-centre GPUs)
    [0x010802, 'storage'], // NVMe
    [0x120000, 'accelerator'], // processing accelerator
    [0x0b4000, 'accelerator'], // co-processor
    [0x0c0330, 'other'], // USB xHCI
    [0xffff00, 'other'], // unassigned (virtio devices without a class)
  ];
  for (const [classCode, kind] of kinds) t.equal(deviceKind(classCode), kind, `class 0x${classCode.toString(16).padStart(6, '0')}`);
});

t.test('topology matches numactl --hardware', async (t) => {
  let hardware: string;
  try {
    hardware = execFileSync('numactl', ['--hardware'], { encoding: 'utf8' });
  } catch {
    // .ci/run installs numactl; a developer machine without it still runs the sysfs checks above.
    t.comment('numactl is not installed: sysfs checks only');
    return;
  }
  const topo = topology();
  t.match(hardware, new RegExp(`available: ${topo.online.length} nodes`));
  for (const node of topo.nodes) {
    const cpuLine = new RegExp(`^node ${node.id} cpus:(.*)$`, 'm').exec(hardware);
    t.same(cpuLine?.[1].trim().split(/\s+/).filter(Boolean).map(Number), node.cpus, `numactl cpus of node ${node.id}`);
    const sizeLine = new RegExp(`^node ${node.id} size: (\\d+) MB$`, 'm').exec(hardware);
    t.equal(Number(sizeLine?.[1]), Math.floor(node.memTotal / 2 ** 20), `numactl size of node ${node.id}`);
  }
  const distanceRows = hardware.slice(hardware.indexOf('node distances:')).trim().split('\n').slice(2);
  topo.nodes.forEach((node, row) => {
    const cells = distanceRows[row].trim().split(/\s+/).slice(1).map(Number);
    t.same(cells, topo.online.map((other) => node.distances[other]), `distances of node ${node.id}`);
  });
});

t.test('currentCpu agrees with topology', async (t) => {
  const { cpu, node } = currentCpu();
  const topo = topology();
  t.ok(topo.allowedCpus.includes(cpu), `cpu ${cpu} is allowed`);
  t.ok(topo.nodes.find((candidate) => candidate.id === node)?.cpus.includes(cpu), `cpu ${cpu} belongs to node ${node}`);
});

t.test('topology inside the guest is what QEMU was told', async (t) => {
  const name = process.env.NUMAPLACE_VM_TOPOLOGY as keyof typeof topologies | undefined;
  if (!name) {
    t.plan(0, 'runs in the QEMU guest (npm run test:vm)');
    return;
  }
  const spec = topologies[name];
  const guest = topology().nodes;
  t.equal(guest.length, spec.nodes.length, 'node count');
  // The guest numbers nodes itself: match QEMU's nodes by their CPUs (the CPU-less one has none).
  const guestOf = spec.nodes.map((wanted) => guest.find((node) => node.cpus.join() === wanted.cpus.join())!);
  spec.nodes.forEach((wanted, id) => {
    const node = guestOf[id];
    t.ok(node, `QEMU node ${id} (cpus ${wanted.cpus.join() || 'none'}) found`);
    t.equal(node.hasCpu, wanted.cpus.length > 0, `node ${node.id} hasCpu`);
    t.equal(node.hasMemory, wanted.memoryMiB > 0, `node ${node.id} hasMemory`);
    t.ok(node.memTotal <= wanted.memoryMiB * MiB, `node ${node.id} memTotal within ${wanted.memoryMiB} MiB`);
    spec.nodes.forEach((_, other) => {
      t.equal(node.distances[guestOf[other].id], spec.distances[id][other], `distance ${id}→${other}`);
    });
  });
  const machine = topology();
  const hmat = 'hmat' in spec ? spec.hmat : undefined;
  spec.nodes.forEach((wanted, id) => {
    const { access } = guestOf[id];
    if (!hmat || wanted.memoryMiB === 0) {
      t.equal(access, null, `QEMU node ${id}: no HMAT figures`);
      return;
    }
    // The kernel links a memory node to the initiator its controller is attached to (itself when it has CPUs).
    const initiator = (wanted as { initiator?: number }).initiator ?? id;
    const row = hmat.initiators.indexOf(initiator);
    t.same(access, {
      initiators: [guestOf[initiator].id],
      readLatencyNs: hmat.latencyNs[row][id],
      writeLatencyNs: hmat.latencyNs[row][id],
      readBandwidthMBps: hmat.bandwidthMBps[row][id],
      writeBandwidthMBps: hmat.bandwidthMBps[row][id],
    }, `QEMU node ${id}: HMAT access from node ${initiator}`);
  });
  const memoryNodes = machine.nodes.filter((node) => node.hasMemory).map((node) => node.id);
  t.same(machine.memoryTiers.flatMap((tier) => tier.nodes).sort((a, b) => a - b), memoryNodes, 'every memory node in one tier');
  const nics = machine.devices.filter((device) => device.kind === 'network');
  if ('nicNode' in spec) {
    t.same(nics.map((nic) => nic.node), [guestOf[spec.nicNode].id], `the NIC behind the expander bridge is on QEMU node ${spec.nicNode}`);
    t.same(nics.map((nic) => nic.vendor), [0x1af4], 'a virtio device');
  } else {
    t.same(nics, [], 'no NIC');
  }
  t.notOk(machine.devices.some((device) => device.classCode >> 16 === 0x06), 'bridges left out');
});
