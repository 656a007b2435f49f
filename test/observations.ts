// A made-up machine and process for the advice rules (adviseOn), which judge
// figures from any machine: the tests of the rules and of numaplace advise's text.
import type { Observation } from '../lib/advice';
import type { NumaNode } from '../lib/topology';

const MiB = 2 ** 20;

/** A node of a made-up machine: `cpus`, memory or not, distance 10 to itself and 21 (31 for a node of memory only) to the others. */
export function node(id: number, cpus: number[], hasMemory: boolean, count: number): NumaNode {
  const distances: Record<number, number> = {};
  for (let other = 0; other < count; other++) distances[other] = other === id ? 10 : cpus.length === 0 ? 31 : 21;
  return { id, cpus, memTotal: hasMemory ? 512 * MiB : 0, memFree: 0, hasCpu: cpus.length > 0, hasMemory, distances, access: null };
}

const TWO_NODES = [node(0, [0, 1], true, 2), node(1, [2, 3], true, 2)];

/** A thread that ran on `cpu`, may run on `allowed` and allocate on `mems`. */
export const thread = (tid: number, cpu: number, allowed = [0, 1, 2, 3], mems = [0, 1]) => ({ tid, cpu, ticks: 5, allowedCpus: allowed, memsAllowed: mems });

/** What the rules judge, on TWO_NODES: pid 1234 with 100 MiB on node 0 and one thread there, but `fields`. */
export function observation(fields: Partial<Observation>): Observation {
  return {
    pid: 1234,
    nodes: TWO_NODES,
    tiers: [],
    bytesByNode: new Map([[0, 100 * MiB]]),
    balancedBytesByNode: new Map(),
    threads: [thread(1234, 0)],
    faults: null,
    vmstat: {},
    numaBalancing: 1,
    commandLine: ['node', 'server.js'],
    cpusetMems: null,
    ...fields,
  };
}
