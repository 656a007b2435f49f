// numaStat(): the kernel's NUMA counters in one reading — the nodes'
// allocation counters, the system's migration and balancing counters, and
// optionally a process's memory per node and its cgroup's — cheap enough for
// a service to poll, and numaStatDelta() for what happened between two readings.
import { existsSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { booleanOption, optionsArgument, pidArgument, readingPairArgument } from './checks';
import { type CgroupNumaStat, cgroupNumaStat } from './cgroup';
import { malformedFile } from './errors';
import { MAPPING_KINDS, type MappingKind, memoryOfMappings } from './numa-maps';
import { requireLiveProcess } from './preconditions';
import { readProcessFile } from './process';
import { type NumaFaults, threadFaults } from './threads';
import { onlineNodes, readKernelFile } from './topology';

/**
 * A node's allocation counters (/sys/devices/system/node/node<N>/numastat), as
 * the kernel lists them: counts of page allocations since boot, which it calls
 * pages, though an allocation of several pages at once (a transparent huge page) counts once.
 */
export interface NodeCounters {
  /** Pages allocated on this node as their policy intended. */
  numa_hit?: number;
  /** Pages allocated on this node though their policy preferred another, which was short of memory. */
  numa_miss?: number;
  /** Pages meant for this node but allocated on another. */
  numa_foreign?: number;
  /** Pages of interleaved memory allocated on the node the interleave meant. */
  interleave_hit?: number;
  /** Pages allocated on this node for a process running on it. */
  local_node?: number;
  /** Pages allocated on this node for a process running on another node. */
  other_node?: number;
  /** Any other counter this kernel lists. */
  [counter: string]: number | undefined;
}

/**
 * The system's migration and NUMA balancing counters from /proc/vmstat, since
 * boot: those named numa_*, pgmigrate_*, pgpromote_*, pgdemote_* and
 * thp_migration_* that this kernel has (one it lacks is absent, not 0).
 */
export interface VmCounters {
  /** Pages migrated, by any mover: move_pages, migrate_pages, NUMA balancing, tiering, compaction. */
  pgmigrate_success?: number;
  /** Pages a migration failed to move. */
  pgmigrate_fail?: number;
  /** Page table entries NUMA balancing made inaccessible, to sample the accesses to them. */
  numa_pte_updates?: number;
  /** Huge page entries among those. */
  numa_huge_pte_updates?: number;
  /** NUMA hinting faults: accesses that sampling caught. */
  numa_hint_faults?: number;
  /** Of those, faults on memory of the faulting CPU's own node. */
  numa_hint_faults_local?: number;
  /** Pages NUMA balancing migrated. */
  numa_pages_migrated?: number;
  /** Pages promoted from a slower memory tier (Linux 5.18+). */
  pgpromote_success?: number;
  /** Pages demoted to a slower memory tier by kswapd (Linux 5.18+). */
  pgdemote_kswapd?: number;
  /** Pages demoted to a slower memory tier by direct reclaim (Linux 5.18+). */
  pgdemote_direct?: number;
  /** Any other counter of those families this kernel has. */
  [counter: string]: number | undefined;
}

/** A process's memory per node in bytes: in a reading, what it has; in a delta, what it gained (negative where it lost). */
export interface ProcessMemory {
  /** The process, as asked (0 = the calling one). */
  pid: number;
  /**
   * Bytes per node for each kind of mapping (as processPlacement() sorts
   * them): each mapping's page counts times its own page size
   * (kernelpagesize_kB), so 2 MiB and 1 GiB hugetlb pages count whole.
   */
  bytesByKind: Record<MappingKind, Map<number, number>>;
  /** Bytes per node, all kinds together: its resident memory by node. */
  bytesByNode: Map<number, number>;
}

/** A process's memory per node, from /proc/<pid>/numa_maps, and its NUMA balancing faults. */
export interface ProcessNumaStat extends ProcessMemory {
  /** How many mappings it has. */
  mappings: number;
  /** Its NUMA balancing faults per node; null where the kernel shows none (see NumaFaults). */
  faults: NumaFaults | null;
}

/** One reading of the kernel's NUMA counters. */
export interface NumaStat {
  /** When it was read: performance.now(), milliseconds on a monotonic clock (numaStatDelta() turns two into a rate). */
  readAt: number;
  /** Each online node's allocation counters (page allocations). */
  nodes: Map<number, NodeCounters>;
  /** The system's migration and balancing counters, since boot. */
  vmstat: VmCounters;
  /** With `{ pid }`: that process's memory per node and its faults. */
  process?: ProcessNumaStat;
  /** With `{ cgroup: true }`: the process's cgroup v2 memory.numa_stat; null where it has none. */
  cgroup?: CgroupNumaStat | null;
}

/** What numaStat() reads besides the machine's counters. */
export interface NumaStatOptions {
  /** Add this process's memory per node and its faults (0 = the calling process). */
  pid?: number;
  /** Add the memory.numa_stat of the cgroup of the process (`pid`, else the calling one). */
  cgroup?: boolean;
}

const NODE_ROOT = '/sys/devices/system/node';
const VM_FAMILIES = ['numa_', 'pgmigrate_', 'pgpromote_', 'pgdemote_', 'thp_migration_'];

/** The "name value" lines of a counter file whose names `keep` accepts. */
function counterFile(fn: string, file: string, text: string, keep: (name: string) => boolean): Record<string, number> {
  const counters: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const space = line.indexOf(' ');
    if (space <= 0 || !keep(line.slice(0, space))) continue;
    const value = line.slice(space + 1);
    if (!/^\d+$/.test(value)) throw malformedFile(fn, file, line, 'a counter name and a whole number');
    counters[line.slice(0, space)] = Number(value);
  }
  return counters;
}

/**
 * Each online node's numastat: a node without a directory is left out, as
 * topology() leaves it out (a kernel without NUMA has none), but a node
 * directory without the file is a NumaError naming it.
 */
export function nodeCounters(fn: string): Map<number, NodeCounters> {
  const counters = new Map<number, NodeCounters>();
  for (const node of onlineNodes(fn)) {
    if (!existsSync(`${NODE_ROOT}/node${node}`)) continue;
    const file = `${NODE_ROOT}/node${node}/numastat`;
    counters.set(node, counterFile(fn, file, readKernelFile(fn, file), () => true));
  }
  return counters;
}

/** The system counters of /proc/vmstat in VM_FAMILIES. */
export function vmCounters(fn: string): VmCounters {
  const file = '/proc/vmstat';
  return counterFile(fn, file, readKernelFile(fn, file), (name) => VM_FAMILIES.some((family) => name.startsWith(family)));
}

/** numaStat()'s process part and what placementAdvice() reads besides: the memory NUMA balancing scans. */
export function processNumaStat(fn: string, pid: number): { stat: ProcessNumaStat; balancedBytesByNode: Map<number, number> } {
  const { mappings, bytesByKind, bytesByNode, balancedBytesByNode } = memoryOfMappings(readProcessFile(fn, pid, 'numa_maps'));
  return { stat: { pid, mappings, bytesByKind, bytesByNode, faults: threadFaults(fn, pid) }, balancedBytesByNode };
}

/**
 * Reads the kernel's NUMA counters at once: every node's allocation counters
 * (numastat: page allocations), the system's migration and NUMA balancing counters
 * (/proc/vmstat), and on request a process's memory per node by kind with its
 * NUMA balancing faults (numa_maps, sched) and its cgroup's memory.numa_stat.
 * Made to be polled: a process with 10,000 mappings reads in about the time
 * the kernel takes to write its numa_maps (benchmarks/README.md).
 *
 * @param options - `pid`: add that process (0 = this one); `cgroup`: add its cgroup v2 memory.numa_stat.
 * @throws TypeError/RangeError for invalid options or a misspelt key; NumaError ESRCH for a process that does not exist or has exited; the NumaError of the read for a file that cannot be read (EACCES for another user's numa_maps without ptrace access), naming it.
 *
 * @example
 * const { nodes, vmstat, process } = numaStat({ pid: 0 });
 * console.log(nodes.get(0).numa_miss, vmstat.pgmigrate_success, process.bytesByNode);
 */
export function numaStat(options?: NumaStatOptions): NumaStat {
  const fn = 'numaStat';
  const { pid, cgroup } = optionsArgument(options, fn, ['pid', 'cgroup']);
  const target = pid === undefined ? undefined : pidArgument(pid, fn, 'options.pid');
  return numaStatOf(fn, target, booleanOption(cgroup, fn, 'cgroup'));
}

/** numaStat() of a checked pid (or none), its errors naming `fn`: the CLI's commands read through it. */
export function numaStatOf(fn: string, target: number | undefined, withCgroup = false): NumaStat {
  if (target !== undefined) requireLiveProcess(fn, target);
  const stat: NumaStat = { readAt: performance.now(), nodes: nodeCounters(fn), vmstat: vmCounters(fn) };
  if (target !== undefined) stat.process = processNumaStat(fn, target).stat;
  if (withCgroup) stat.cgroup = cgroupNumaStat(fn, target ?? 0);
  return stat;
}

/** What a process's memory did between two readings: bytes gained per node (on every node either reading has), and pages moved. */
export interface ProcessNumaStatDelta extends ProcessMemory {
  /**
   * Pages NUMA balancing migrated for its threads in between (of threads alive
   * at both readings' times; a thread that exited takes its count along); null
   * where the kernel shows no faults. The per-node fault figures are recent
   * averages already, not counters: read them from the later reading.
   */
  pagesMigrated: number | null;
}

/** What changed between two numaStat() readings. */
export interface NumaStatDelta {
  /** Seconds between the readings, for rates: `delta.vmstat.pgmigrate_success / delta.seconds`. */
  seconds: number;
  /** Each node's counters' increase, for the nodes and counters both readings have. */
  nodes: Map<number, NodeCounters>;
  /** The system counters' increase, for those both readings have. */
  vmstat: VmCounters;
  /** Where both readings have the process: what its memory did. */
  process?: ProcessNumaStatDelta;
  /**
   * Where both readings asked for the cgroup: the change of every memory.numa_stat
   * entry per node; null where either reading had none, or the process changed cgroups.
   */
  cgroup?: CgroupNumaStat | null;
}

function counterDelta(after: Record<string, number | undefined>, before: Record<string, number | undefined>): Record<string, number> {
  const delta: Record<string, number> = {};
  for (const [name, value] of Object.entries(after)) {
    const earlier = before[name];
    if (value !== undefined && earlier !== undefined) delta[name] = value - earlier;
  }
  return delta;
}

/** after - before for every node either has (absent counts as 0). */
function perNodeDelta(after: Map<number, number>, before: Map<number, number>): Map<number, number> {
  const nodes = [...new Set([...before.keys(), ...after.keys()])].sort((a, b) => a - b);
  return new Map(nodes.map((node) => [node, (after.get(node) ?? 0) - (before.get(node) ?? 0)]));
}

function processDelta(after: ProcessNumaStat, before: ProcessNumaStat): ProcessNumaStatDelta {
  const bytesByKind = Object.fromEntries(
    MAPPING_KINDS.map((kind) => [kind, perNodeDelta(after.bytesByKind[kind], before.bytesByKind[kind])]),
  ) as ProcessNumaStatDelta['bytesByKind'];
  const pagesMigrated = after.faults && before.faults ? after.faults.pagesMigrated - before.faults.pagesMigrated : null;
  return { pid: after.pid, bytesByKind, bytesByNode: perNodeDelta(after.bytesByNode, before.bytesByNode), pagesMigrated };
}

function cgroupDelta(after: CgroupNumaStat | null, before: CgroupNumaStat | null): CgroupNumaStat | null {
  if (!after || !before || after.path !== before.path) return null;
  const stats: CgroupNumaStat['stats'] = {};
  for (const [key, byNode] of Object.entries(after.stats)) stats[key] = perNodeDelta(byNode, before.stats[key] ?? new Map());
  return { ...after, stats };
}

/**
 * What changed between two numaStat() readings: every counter's increase, the
 * process's memory gained or lost per node, the cgroup's entries' change,
 * and the seconds between the readings, for rates.
 *
 * @param before - The earlier reading.
 * @param after - The later reading (of the same process, where both have one).
 * @throws TypeError for a value that is not a numaStat() reading; RangeError for readings in the wrong order or of different processes.
 *
 * @example
 * const before = numaStat();
 * await new Promise((resolve) => setTimeout(resolve, 1000));
 * const delta = numaStatDelta(before, numaStat());
 * console.log(`${(delta.vmstat.pgmigrate_success ?? 0) / delta.seconds} pages migrated per second`);
 */
export function numaStatDelta(before: NumaStat, after: NumaStat): NumaStatDelta {
  readingPairArgument(before, after, 'numaStatDelta');
  const nodes = new Map<number, NodeCounters>();
  for (const [node, counters] of after.nodes) {
    const earlier = before.nodes.get(node);
    if (earlier) nodes.set(node, counterDelta(counters, earlier));
  }
  const delta: NumaStatDelta = { seconds: (after.readAt - before.readAt) / 1000, nodes, vmstat: counterDelta(after.vmstat, before.vmstat) };
  if (after.process && before.process) delta.process = processDelta(after.process, before.process);
  if (after.cgroup !== undefined && before.cgroup !== undefined) delta.cgroup = cgroupDelta(after.cgroup, before.cgroup);
  return delta;
}
