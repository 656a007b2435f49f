// placementAdvice(): what in a process's placement makes its threads reach
// memory on other nodes, each finding with the figures it rests on (read from
// the kernel) and code that fixes it. It reads; it never moves anything. The
// reading (observe) and the judging (adviseOn) are apart, so that the rules can
// be checked against any machine's figures, not only this one's.
import { existsSync } from 'node:fs';
import { optionsArgument, pidArgument } from './checks';
import { cgroupDirectory } from './cgroup';
import { processNumaStat, vmCounters, type VmCounters } from './numa-stat';
import { requireLiveProcess } from './preconditions';
import { readProcessFile } from './process';
import { type NumaFaults, type ThreadPlacement, threadPlacements } from './threads';
import { type MemoryTier, type NumaNode, numaNodes, readKernelFileIfPresent, readMemoryTiers } from './topology';

/** How much a finding costs the process: `high` when most of its memory or accesses are affected. */
export type Severity = 'low' | 'medium' | 'high';

/** How to fix a finding. */
export interface AdviceFix {
  /**
   * Code that fixes it: a numaplace call where one does it (`migrateProcess(1234, [1], [0])`,
   * with migrateProcess imported from 'numaplace'), else a shell command (as root).
   */
  call: string;
  /** The fix as a shell command: `numaplace migrate 1234 --from 1 --to 0`, `taskset -a -pc 0,1 1234`, `sysctl -w kernel.numa_balancing=1`. */
  command: string;
  /** For a migration, migrateProcess()'s arguments, for a program to apply; null for a fix outside numaplace. */
  migrate: { pid: number; fromNodes: number[]; toNodes: number[] } | null;
}

/** One thing placementAdvice() found, of kind `K`, with the figures of type `E` it rests on. */
export interface AdviceFinding<K extends string, E> {
  /** What was found. */
  kind: K;
  /** How much it costs the process. */
  severity: Severity;
  /** What was found, in a sentence with its figures. */
  message: string;
  /** The figures it rests on, as read from the kernel. */
  evidence: E;
  /** How to fix it. */
  fix: AdviceFix;
}

/** Memory on nodes none of the process's threads run on (nor near, for threads on a node without memory). */
export interface MemoryAwayEvidence {
  /** The nodes holding it. */
  nodes: number[];
  /** Its bytes. */
  bytes: number;
  /** Its share of the process's resident memory, 0 to 1. */
  share: number;
  /** The process's resident memory, in bytes (numa_maps). */
  residentBytes: number;
  /** The nodes the process's threads run on. */
  threadNodes: number[];
}

/** Threads on several nodes while the memory sits on one. */
export interface ThreadsSpreadEvidence {
  /** The node holding the memory. */
  node: number;
  /** Its share of the process's resident memory, 0 to 1. */
  share: number;
  /** The threads counted: those that have used CPU time. */
  threads: number;
  /** Of them, those running on nodes away from `node`. */
  threadsElsewhere: number;
  /** The nodes the threads run on. */
  threadNodes: number[];
}

/** A cpuset whose memory nodes exclude the nodes of CPUs its threads may run on. */
export interface CpusetEvidence {
  /** Nodes of CPUs the threads may run on, whose memory (or the memory nearest them) the cpuset forbids. */
  cpuNodes: number[];
  /** The nodes the cpuset allows memory on (Mems_allowed_list). */
  memsAllowed: number[];
  /** Threads that may run on such CPUs. */
  threads: number;
}

/** NUMA balancing off on a machine with several memory nodes, or on for a process pinned to one node. */
export interface NumaBalancingEvidence {
  /** kernel.numa_balancing: 0 off, 1 on, 2 memory tiering only, 3 both. */
  numaBalancing: number;
  /** Nodes with memory on this machine. */
  memoryNodes: number;
  /** The node all the process's threads are pinned to, or null. */
  pinnedNode: number | null;
  /** Bytes of the process's memory NUMA balancing scans (anonymous, under the default policy). */
  balancedBytes: number;
}

/** The share of sampled memory accesses that went to another node. */
export interface RemoteAccessEvidence {
  /** 'process': the process's own recent NUMA hinting faults (/proc/<pid>/task/<tid>/sched); 'system': the machine's since boot (/proc/vmstat), where the kernel shows no process's own. */
  scope: 'process' | 'system';
  /** Hinting faults seen. */
  faults: number;
  /** Of them, on memory of the faulting thread's (or CPU's) own node. */
  localFaults: number;
  /** 1 - localFaults / faults. */
  remoteShare: number;
}

/** A large share of the memory on a node of memory only (CXL, HBM) or of a slower memory tier. */
export interface SlowMemoryEvidence {
  /** The node. */
  node: number;
  /** The process's bytes on it. */
  bytes: number;
  /** Their share of its resident memory, 0 to 1. */
  share: number;
  /** Whether the node has CPUs (false: memory only). */
  hasCpu: boolean;
  /** The node's memory tier (higher is slower), null where the kernel has none. */
  tier: number | null;
  /** The nodes the process's threads run on. */
  threadNodes: number[];
}

/** One finding of placementAdvice(), by kind. */
export type Finding =
  | AdviceFinding<'memory-away-from-threads', MemoryAwayEvidence>
  | AdviceFinding<'memory-on-slow-node', SlowMemoryEvidence>
  | AdviceFinding<'threads-spread', ThreadsSpreadEvidence>
  | AdviceFinding<'cpuset-excludes-node', CpusetEvidence>
  | AdviceFinding<'numa-balancing-off', NumaBalancingEvidence>
  | AdviceFinding<'numa-balancing-pinned', NumaBalancingEvidence>
  | AdviceFinding<'remote-access', RemoteAccessEvidence>;

/** Whom placementAdvice() advises. */
export interface PlacementAdviceOptions {
  /** The process to advise on (default 0, the calling one). */
  pid?: number;
}

/** What the rules judge: a process's placement as the kernel shows it. */
export interface Observation {
  pid: number;
  nodes: NumaNode[];
  tiers: MemoryTier[];
  bytesByNode: Map<number, number>;
  balancedBytesByNode: Map<number, number>;
  threads: ThreadPlacement[];
  faults: NumaFaults | null;
  vmstat: VmCounters;
  /** kernel.numa_balancing, null for a kernel without NUMA balancing. */
  numaBalancing: number | null;
  /** Its command line, to restart it placed; [] where it has none. */
  commandLine: string[];
  /** The cpuset.mems file of its cgroup (v2, or v1's cpuset hierarchy), null where there is none. */
  cpusetMems: string | null;
}

/** Memory away from the threads worth a finding: 5% of what is resident, and 1 MiB. */
export const AWAY_MIN_SHARE = 0.05;
const AWAY_MIN_BYTES = 2 ** 20;
/** A slow node holds "a large share": a quarter. */
const SLOW_MIN_SHARE = 0.25;
/** Memory "on one node": 90% of it. */
const ONE_NODE_SHARE = 0.9;
/** Enough faults for a ratio: of the process's recent (decaying) figures, and of the system's since boot. */
const MIN_PROCESS_FAULTS = 200;
const MIN_SYSTEM_FAULTS = 10_000;
/** A remote-access share worth a finding. */
const REMOTE_MIN_SHARE = 0.3;

/** The facts the rules share, derived once from an observation. */
interface Context {
  observation: Observation;
  node: Map<number, NumaNode>;
  resident: number;
  /** Threads that have used CPU time (all, if none has yet), with the node of the CPU each ran on last. */
  running: { thread: ThreadPlacement; node: number }[];
  threadNodes: number[];
  /** Memory nodes near the threads: their own, or the nearest to a node without memory. */
  nearThreads: Set<number>;
  /** Where misplaced memory should go: the near memory node of most threads that the cpuset allows, or null. */
  home: number | null;
  /** Nodes of memory only, or of a slower tier than the threads' memory. */
  slow: Set<number>;
  /** The one node every thread's CPUs lie in, or null. */
  pinnedNode: number | null;
}

const sorted = (ids: Iterable<number>) => [...new Set(ids)].sort((a, b) => a - b);
const percent = (share: number) => `${Math.round(share * 100)}%`;
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
const nodeList = (ids: number[]) => `node${ids.length > 1 ? 's' : ''} ${ids.join(', ')}`;

/** The memory nodes a thread on `node` reaches best: the node itself if it has memory, else those nearest by distance. */
function nearMemory(node: NumaNode, nodes: NumaNode[]): number[] {
  if (node.hasMemory) return [node.id];
  const distances = nodes.filter((other) => other.hasMemory).map((other) => ({ id: other.id, distance: node.distances[other.id] ?? Infinity }));
  const nearest = Math.min(...distances.map(({ distance }) => distance));
  return distances.filter(({ distance }) => distance === nearest).map(({ id }) => id);
}

function tierOf(observation: Observation, node: number): number | null {
  return observation.tiers.find((tier) => tier.nodes.includes(node))?.id ?? null;
}

/** The one node all of `cpus` belong to, or null. */
function nodeOfCpus(cpus: number[], cpuNode: Map<number, number>): number | null {
  const nodes = new Set(cpus.map((cpu) => cpuNode.get(cpu)));
  const [only] = nodes;
  return nodes.size === 1 && only !== undefined ? only : null;
}

function contextOf(observation: Observation): Context {
  const node = new Map(observation.nodes.map((entry) => [entry.id, entry]));
  const cpuNode = new Map(observation.nodes.flatMap((entry) => entry.cpus.map((cpu) => [cpu, entry.id] as const)));
  const placed = observation.threads.flatMap((thread) => (cpuNode.has(thread.cpu) ? [{ thread, node: cpuNode.get(thread.cpu)! }] : []));
  // A thread that never ran (an idle pool thread) sits on the CPU it was made on: it says nothing of where the work runs.
  const ran = placed.filter(({ thread }) => thread.ticks > 0);
  const running = ran.length > 0 ? ran : placed;
  const near = running.map((entry) => nearMemory(node.get(entry.node)!, observation.nodes));
  const nearThreads = new Set(near.flat());
  // Each thread votes for its nearest memory node; only a node the cpuset allows (the threads of a process
  // share one) can take the pages: migrate_pages leaves out the others.
  const allowed = observation.threads[0]?.memsAllowed ?? [];
  const votes = new Map<number, number>();
  for (const [first] of near.filter((ids) => allowed.includes(ids[0]))) votes.set(first, (votes.get(first) ?? 0) + 1);
  const home = [...votes].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0]?.[0] ?? null;
  const fastest = Math.min(...[...nearThreads].map((id) => tierOf(observation, id) ?? Infinity));
  const slow = observation.nodes.filter(
    (entry) => entry.hasMemory && !nearThreads.has(entry.id) && (!entry.hasCpu || (tierOf(observation, entry.id) ?? -Infinity) > fastest),
  );
  const pinned = observation.threads.map((thread) => nodeOfCpus(thread.allowedCpus, cpuNode));
  return {
    observation,
    node,
    resident: [...observation.bytesByNode.values()].reduce((sum, bytes) => sum + bytes, 0),
    running,
    threadNodes: sorted(running.map((entry) => entry.node)),
    nearThreads,
    home,
    slow: new Set(slow.map((entry) => entry.id)),
    pinnedNode: pinned.length > 0 && pinned.every((id) => id !== null && id === pinned[0]) ? pinned[0] : null,
  };
}

function migrateFix(pid: number, from: number[], to: number): AdviceFix {
  const toNodes = from.map(() => to);
  return {
    call: `migrateProcess(${pid}, [${from.join(', ')}], [${toNodes.join(', ')}])`,
    command: `numaplace migrate ${pid} --from ${from.join(',')} --to ${to}`,
    migrate: { pid, fromNodes: from, toNodes },
  };
}

function shellFix(command: string): AdviceFix {
  return { call: command, command, migrate: null };
}

function pinFix(pid: number, cpus: number[]): AdviceFix {
  return shellFix(`taskset -a -pc ${cpus.join(',')} ${pid}`);
}

/** A word the shell takes as it is, quoted where it must be. */
function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

function memoryAway(context: Context): Finding[] {
  const { observation, resident, home } = context;
  const away = sorted(
    [...observation.bytesByNode].filter(([id, bytes]) => bytes > 0 && !context.nearThreads.has(id) && !context.slow.has(id)).map(([id]) => id),
  );
  const bytes = away.reduce((sum, id) => sum + (observation.bytesByNode.get(id) ?? 0), 0);
  const share = resident > 0 ? bytes / resident : 0;
  if (home === null || share < AWAY_MIN_SHARE || bytes < AWAY_MIN_BYTES) return [];
  return [
    {
      kind: 'memory-away-from-threads',
      severity: share >= 0.5 ? 'high' : share >= 0.2 ? 'medium' : 'low',
      message:
        `pid ${observation.pid}: ${mib(bytes)} (${percent(share)} of its resident memory) is on ${nodeList(away)}, ` +
        `where none of its threads run (they run on ${nodeList(context.threadNodes)}): move it to node ${home}`,
      evidence: { nodes: away, bytes, share, residentBytes: resident, threadNodes: context.threadNodes },
      fix: migrateFix(observation.pid, away, home),
    },
  ];
}

function slowMemory(context: Context): Finding[] {
  const { observation, resident, home } = context;
  if (home === null || resident === 0) return [];
  return [...context.slow].flatMap((id): Finding[] => {
    const bytes = observation.bytesByNode.get(id) ?? 0;
    const share = bytes / resident;
    if (share < SLOW_MIN_SHARE) return [];
    const { hasCpu } = context.node.get(id)!;
    const tier = tierOf(observation, id);
    const why = hasCpu ? `of a slower memory tier (${tier})` : 'of memory only (no CPUs: CXL, HBM or the like)';
    return [
      {
        kind: 'memory-on-slow-node',
        severity: share >= 0.5 ? 'high' : 'medium',
        message: `pid ${observation.pid}: ${mib(bytes)} (${percent(share)} of its resident memory) is on node ${id}, a node ${why}, away from its threads on ${nodeList(context.threadNodes)}`,
        evidence: { node: id, bytes, share, hasCpu, tier, threadNodes: context.threadNodes },
        fix: migrateFix(observation.pid, [id], home),
      },
    ];
  });
}

/** The node holding ONE_NODE_SHARE of the memory, if one does. */
function memoryNode(context: Context): { node: number; share: number } | null {
  const [node, bytes] = [...context.observation.bytesByNode].sort((a, b) => b[1] - a[1])[0] ?? [0, 0];
  const share = context.resident > 0 ? bytes / context.resident : 0;
  return share >= ONE_NODE_SHARE ? { node, share } : null;
}

function threadsSpread(context: Context): Finding[] {
  const { observation } = context;
  const main = memoryNode(context);
  const cpus = main ? (context.node.get(main.node)?.cpus ?? []) : [];
  if (!main || context.threadNodes.length < 2 || cpus.length === 0) return [];
  const elsewhere = context.running.filter((entry) => !nearMemory(context.node.get(entry.node)!, observation.nodes).includes(main.node));
  if (elsewhere.length === 0) return [];
  const threads = context.running.length;
  return [
    {
      kind: 'threads-spread',
      severity: elsewhere.length * 2 >= threads ? 'medium' : 'low',
      message:
        `pid ${observation.pid}: ${percent(main.share)} of its memory is on node ${main.node}, but ${elsewhere.length} of its ${threads} threads ` +
        `run on ${nodeList(sorted(elsewhere.map((entry) => entry.node)))} and reach it remotely: run them on node ${main.node}`,
      evidence: { node: main.node, share: main.share, threads, threadsElsewhere: elsewhere.length, threadNodes: context.threadNodes },
      fix: pinFix(observation.pid, cpus),
    },
  ];
}

function cpusetExcludes(context: Context): Finding[] {
  const { observation } = context;
  const cpuNode = new Map(observation.nodes.flatMap((entry) => entry.cpus.map((cpu) => [cpu, entry] as const)));
  const excluded = new Set<number>();
  const memsAllowed = sorted(observation.threads.flatMap((thread) => thread.memsAllowed));
  let threads = 0;
  for (const thread of observation.threads) {
    const cpuNodes = sorted(thread.allowedCpus.flatMap((cpu) => cpuNode.get(cpu)?.id ?? []));
    const shut = cpuNodes.filter((id) => !nearMemory(context.node.get(id)!, observation.nodes).some((near) => thread.memsAllowed.includes(near)));
    for (const id of shut) excluded.add(id);
    if (shut.length > 0) threads++;
  }
  if (threads === 0) return [];
  const cpuNodes = sorted(excluded);
  const wanted = sorted([...memsAllowed, ...cpuNodes.flatMap((id) => nearMemory(context.node.get(id)!, observation.nodes))]);
  const allowedCpus = memsAllowed.flatMap((id) => context.node.get(id)?.cpus ?? []);
  return [
    {
      kind: 'cpuset-excludes-node',
      severity: threads === observation.threads.length ? 'high' : 'medium',
      message:
        `pid ${observation.pid}: its cpuset lets ${threads} thread(s) run on CPUs of ${nodeList(cpuNodes)} but allocate memory only on ` +
        `${nodeList(memsAllowed)}: every access of theirs to memory is remote`,
      evidence: { cpuNodes, memsAllowed, threads },
      fix: observation.cpusetMems !== null || allowedCpus.length === 0
        ? shellFix(`echo ${wanted.join(',')} > ${observation.cpusetMems ?? `<cgroup of ${observation.pid}>/cpuset.mems`}`)
        : pinFix(observation.pid, allowedCpus),
    },
  ];
}

function numaBalancing(context: Context): Finding[] {
  const { observation, pinnedNode } = context;
  const value = observation.numaBalancing;
  const memoryNodes = observation.nodes.filter((entry) => entry.hasMemory).length;
  const balancedBytes = [...observation.balancedBytesByNode.values()].reduce((sum, bytes) => sum + bytes, 0);
  if (value === null || memoryNodes < 2) return [];
  const evidence = { numaBalancing: value, memoryNodes, pinnedNode, balancedBytes };
  const settled = pinnedNode !== null && (observation.bytesByNode.get(pinnedNode) ?? 0) === context.resident;
  if ((value & 1) === 0 && !settled) {
    return [
      {
        kind: 'numa-balancing-off',
        severity: 'low',
        message: `NUMA balancing is off (kernel.numa_balancing=${value}) on a machine with ${memoryNodes} memory nodes: the kernel does not move the pages of pid ${observation.pid} toward the threads that use them`,
        evidence,
        fix: shellFix(`sysctl -w kernel.numa_balancing=${value | 1}`),
      },
    ];
  }
  const pinnedHasMemory = pinnedNode !== null && context.node.get(pinnedNode)?.hasMemory === true;
  if ((value & 1) === 0 || !pinnedHasMemory || balancedBytes < AWAY_MIN_BYTES || observation.commandLine.length === 0) return [];
  return [
    {
      kind: 'numa-balancing-pinned',
      severity: 'low',
      message:
        `pid ${observation.pid} runs on node ${pinnedNode} only, yet NUMA balancing samples ${mib(balancedBytes)} of its memory with hinting faults; ` +
        `started with its memory bound to node ${pinnedNode} it is left alone`,
      evidence,
      fix: shellFix(`numaplace run --node ${pinnedNode} -- ${observation.commandLine.map(shellWord).join(' ')}`),
    },
  ];
}

/** The fix that brings memory and threads together, where they are apart: the memory to the threads, else the threads to the memory. */
function alignment(context: Context): AdviceFix | null {
  const { observation, home } = context;
  const apart = sorted([...observation.bytesByNode].filter(([id, bytes]) => bytes > 0 && !context.nearThreads.has(id)).map(([id]) => id));
  if (apart.length > 0 && home !== null) return migrateFix(observation.pid, apart, home);
  return threadsSpread(context)[0]?.fix ?? null;
}

function remoteAccess(context: Context): Finding[] {
  const { faults, vmstat, pid } = context.observation;
  const systemFaults = vmstat.numa_hint_faults ?? 0;
  const seen: RemoteAccessEvidence | null =
    faults !== null && faults.total >= MIN_PROCESS_FAULTS
      ? { scope: 'process', faults: faults.total, localFaults: faults.local, remoteShare: 1 - faults.local / faults.total }
      : faults === null && systemFaults >= MIN_SYSTEM_FAULTS && vmstat.numa_hint_faults_local !== undefined
        ? { scope: 'system', faults: systemFaults, localFaults: vmstat.numa_hint_faults_local, remoteShare: 1 - vmstat.numa_hint_faults_local / systemFaults }
        : null;
  const fix = seen && seen.remoteShare >= REMOTE_MIN_SHARE ? alignment(context) : null;
  if (!seen || !fix) return [];
  const whose = seen.scope === 'process' ? `pid ${pid}'s recent hinting faults` : "the machine's hinting faults since boot; the kernel shows no process's own";
  return [
    {
      kind: 'remote-access',
      severity: seen.scope === 'system' ? 'low' : seen.remoteShare >= 0.5 ? 'high' : 'medium',
      message: `${percent(seen.remoteShare)} of the memory accesses NUMA balancing sampled went to another node (${seen.faults - seen.localFaults} of ${seen.faults}: ${whose})`,
      evidence: seen,
      fix,
    },
  ];
}

const SEVERITY_ORDER: Severity[] = ['high', 'medium', 'low'];

/** The findings of an observation, most severe first. */
export function adviseOn(observation: Observation): Finding[] {
  const context = contextOf(observation);
  return [memoryAway, slowMemory, threadsSpread, cpusetExcludes, remoteAccess, numaBalancing]
    .flatMap((rule) => rule(context))
    .sort((a, b) => SEVERITY_ORDER.indexOf(a.severity) - SEVERITY_ORDER.indexOf(b.severity));
}

/** The cpuset.mems file of the process's cgroup: v2's where the cpuset controller is on for it, else v1's. */
function cpusetMemsFile(fn: string, pid: number): string | null {
  for (const hierarchy of [{ version: 2 } as const, { version: 1, controller: 'cpuset' } as const]) {
    const directory = cgroupDirectory(fn, pid, hierarchy)?.directory;
    if (directory !== undefined && existsSync(`${directory}/cpuset.mems`)) return `${directory}/cpuset.mems`;
  }
  return null;
}

/** Everything the rules judge, read from the kernel for process `pid` (0: this one). */
function observe(fn: string, pid: number): Observation {
  requireLiveProcess(fn, pid);
  const { stat, balancedBytesByNode } = processNumaStat(fn, pid);
  const balancing = readKernelFileIfPresent(fn, '/proc/sys/kernel/numa_balancing');
  return {
    pid: pid === 0 ? process.pid : pid,
    nodes: numaNodes(fn),
    tiers: readMemoryTiers(fn),
    bytesByNode: stat.bytesByNode,
    balancedBytesByNode,
    threads: threadPlacements(fn, pid),
    faults: stat.faults,
    vmstat: vmCounters(fn),
    numaBalancing: balancing === null ? null : Number(balancing),
    commandLine: readProcessFile(fn, pid, 'cmdline').split('\0').filter((word) => word !== ''),
    cpusetMems: cpusetMemsFile(fn, pid),
  };
}

/**
 * What in a process's placement makes its threads reach memory on other
 * nodes, and how to fix each: memory on nodes none of its threads run on;
 * threads spread over nodes while the memory sits on one; a cpuset whose
 * memory nodes exclude its CPUs' nodes; NUMA balancing off on a machine with
 * several memory nodes, or on for a process pinned to one node; a high share
 * of remote accesses among NUMA balancing's samples; much memory on a node of
 * memory only or of a slower tier. Each finding carries the figures it rests
 * on, read from the kernel, and a fix: a numaplace call or a shell command.
 * Nothing is moved.
 *
 * @param options - `pid`: the process (default 0, this one).
 * @throws TypeError/RangeError for invalid options or a misspelt key; NumaError ESRCH for a process that does not exist or has exited; the NumaError of the read for a file that cannot be read (EACCES for another user's numa_maps without ptrace access), naming it.
 *
 * @example
 * for (const finding of placementAdvice({ pid: 1234 })) console.log(finding.severity, finding.message, finding.fix.call);
 */
export function placementAdvice(options?: PlacementAdviceOptions): Finding[] {
  const fn = 'placementAdvice';
  const { pid } = optionsArgument(options, fn, ['pid']);
  return adviceFor(fn, pidArgument(pid ?? 0, fn, 'options.pid'));
}

/** placementAdvice() of a checked pid, its errors naming `fn` (numaplace advise). */
export function adviceFor(fn: string, pid: number): Finding[] {
  return adviseOn(observe(fn, pid));
}
