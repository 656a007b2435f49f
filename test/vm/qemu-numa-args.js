// Prints the QEMU arguments (one per line) for a topology in topologies.json:
// CPU count, memory backends, -numa node and -numa dist for every pair.
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
  args.push('-numa', spec);
});
// QEMU refuses to start unless every pair has a distance.
for (let src = 0; src < nodes.length; src++) {
  for (let dst = src + 1; dst < nodes.length; dst++) {
    args.push('-numa', `dist,src=${src},dst=${dst},val=${distances[src][dst]}`);
  }
}
console.log(args.join('\n'));
