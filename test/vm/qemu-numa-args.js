// Prints the QEMU arguments (one per line) for a topology in topologies.json:
// CPU count, memory backends, -numa node and -numa dist for every pair; with
// `hmat`, the ACPI HMAT table (latency and bandwidth from each initiator node
// to each memory node); with `nicNode`, a NIC behind a PCI expander bridge on
// that node.
'use strict';
const topologies = require('./topologies.json');

const name = process.argv[2];
const topology = topologies[name];
if (!topology) {
  console.error(`unknown topology '${name}' (${Object.keys(topologies).join(', ')})`);
  process.exit(2);
}
const { nodes, distances } = topology;
const cpuCount = nodes.reduce((sum, node) => sum + node.cpus.length, 0);
const memoryMiB = nodes.reduce((sum, node) => sum + node.memoryMiB, 0);
const args = ['-smp', String(cpuCount), '-m', `${memoryMiB}M`];
nodes.forEach((node, id) => {
  let spec = `node,nodeid=${id}`;
  if (node.memoryMiB > 0) {
    // prealloc: otherwise first writes fault on the host and early timings are 10x off.
    args.push('-object', `memory-backend-ram,id=m${id},size=${node.memoryMiB}M,prealloc=on`);
    spec += `,memdev=m${id}`;
  }
  if (node.cpus.length > 0) spec += `,cpus=${node.cpus[0]}-${node.cpus.at(-1)}`;
  // With HMAT a node without CPUs names the node its memory controller is attached to.
  if (node.initiator !== undefined) spec += `,initiator=${node.initiator}`;
  args.push('-numa', spec);
});
// QEMU refuses to start unless every pair has a distance.
for (let src = 0; src < nodes.length; src++) {
  for (let dst = src + 1; dst < nodes.length; dst++) {
    args.push('-numa', `dist,src=${src},dst=${dst},val=${distances[src][dst]}`);
  }
}
if (topology.hmat) {
  const { initiators, latencyNs, bandwidthMBps } = topology.hmat;
  args.unshift('-machine', 'hmat=on');
  initiators.forEach((initiator, row) => {
    nodes.forEach((node, target) => {
      if (node.memoryMiB === 0) return;
      const entry = `hmat-lb,initiator=${initiator},target=${target},hierarchy=memory`;
      args.push('-numa', `${entry},data-type=access-latency,latency=${latencyNs[row][target]}`);
      args.push('-numa', `${entry},data-type=access-bandwidth,bandwidth=${bandwidthMBps[row][target]}M`);
    });
  });
}
if (topology.nicNode !== undefined) {
  args.push('-device', `pxb,id=pxb1,bus=pci.0,numa_node=${topology.nicNode},bus_nr=4`);
  args.push('-device', 'pci-bridge,id=br1,bus=pxb1,chassis_nr=1');
  args.push('-netdev', 'user,id=net1,restrict=on');
  args.push('-device', 'virtio-net-pci,bus=br1,addr=0x1,netdev=net1');
}
console.log(args.join('\n'));
