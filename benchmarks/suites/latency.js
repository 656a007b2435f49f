'use strict';
// What placement buys on real hardware: from a thread pinned to each node with
// CPUs, pointer chasing (ns per dependent load) and read bandwidth over a
// buffer placed on each memory node — the local/remote matrices.
const { allocOnNode, pinThread, threadAffinity, topology } = require('../../dist');
const { summary } = require('../stats');

const MiB = 2 ** 20;

function latencySuite({ raw, quick, free, record }) {
  const { nodes } = topology();
  const cpuNodes = nodes.filter((node) => node.hasCpu).map((node) => node.id);
  const memoryNodes = nodes.filter((node) => node.hasMemory).map((node) => node.id);
  const bytes = Math.min(quick ? 64 : 256, Math.floor(free / 4 / MiB)) * MiB;
  const steps = quick ? 2e6 : 1e7;
  const repetitions = quick ? 3 : 5;
  const original = threadAffinity();
  const latency = {};
  const bandwidth = {};
  try {
    for (const cpuNode of cpuNodes) {
      pinThread({ node: cpuNode });
      latency[cpuNode] = {};
      bandwidth[cpuNode] = {};
      for (const memoryNode of memoryNodes) {
        const buffer = allocOnNode(bytes, memoryNode, { hugePages: false }).fill(1);
        const chase = [];
        const read = [];
        for (let i = 0; i < repetitions; i++) {
          chase.push(raw.chase(buffer, steps));
          read.push(bytes / 2 ** 30 / (raw.readAll(buffer) / 1e9));
        }
        latency[cpuNode][memoryNode] = summary(chase);
        bandwidth[cpuNode][memoryNode] = summary(read);
      }
    }
  } finally {
    pinThread(original);
  }
  record({ id: 'matrix/latency', title: `pointer chasing over ${bytes / MiB} MiB: ns per load, CPU node → memory node`, unit: 'ns', matrix: latency });
  record({ id: 'matrix/bandwidth', title: `sequential read of ${bytes / MiB} MiB: GiB/s, CPU node → memory node`, unit: 'GiB/s', matrix: bandwidth });
  return undefined;
}

module.exports = { latencySuite };
