import { readdirSync, readFileSync } from 'node:fs';
import { native } from './binding';
import { callNative, invalidRange, invalidType } from './errors';

const NODE_ROOT = '/sys/devices/system/node';

export interface NumaNode {
  /** The node id the kernel uses. */
  id: number;
  /** Its online CPUs. */
  cpus: number[];
  /** Bytes. */
  memTotal: number;
  /** Bytes. */
  memFree: number;
  /** Whether it has CPUs (a CXL or HBM node may have none). */
  hasCpu: boolean;
  /** Whether it has memory (a node of CPUs only has none: its memory comes from the nearest node). */
  hasMemory: boolean;
  /** Relative distance to every online node by id (10 = local), from the firmware's SLIT. */
  distances: Record<number, number>;
}

export interface Topology {
  /** The base page size in bytes. */
  pageSize: number;
  /** Every online node. */
  nodes: NumaNode[];
  /** Node ids the kernel has online. */
  online: number[];
  /** Node ids that could ever come online. */
  possible: number[];
  /** Nodes this process may allocate on (cpuset: Mems_allowed_list). */
  allowedMems: number[];
  /** CPUs this process may run on (Cpus_allowed_list). */
  allowedCpus: number[];
}

/**
 * Parses the kernel's list format: "0-3,8,10-11" → [0,1,2,3,8,10,11].
 *
 * @param text - A list such as `0-3,8`.
 * @throws TypeError for a value that is not a string; RangeError for text that is not such a list.
 *
 * @example
 * parseIdList('0-3,8'); // [0, 1, 2, 3, 8]
 */
export function parseIdList(text: string): number[] {
  if (typeof text !== 'string') throw invalidType('parseIdList', 'text', 'a list such as 0-3,8', text);
  if (!/^\s*(\d+(-\d+)?(,\d+(-\d+)?)*)?\s*$/.test(text)) throw invalidRange('parseIdList', 'text', 'a list such as 0-3,8', text);
  const ids: number[] = [];
  for (const part of text.trim().split(',')) {
    if (part === '') continue;
    const [first, last = first] = part.split('-').map(Number);
    for (let id = first; id <= last; id++) ids.push(id);
  }
  return ids;
}

function readIdList(file: string): number[] {
  return parseIdList(readFileSync(file, 'utf8'));
}

function meminfoBytes(text: string, field: string): number {
  const match = new RegExp(`${field}:\\s+(\\d+) kB`).exec(text);
  return match ? Number(match[1]) * 1024 : 0;
}

function processStatusList(field: string): number[] {
  const match = new RegExp(`^${field}:\\s*(.*)$`, 'm').exec(readFileSync('/proc/self/status', 'utf8'));
  return match ? parseIdList(match[1]) : [];
}

/** The nodes this process's cpuset lets it allocate on (Mems_allowed_list). */
export function allowedMemoryNodes(): number[] {
  return processStatusList('Mems_allowed_list');
}

/** Online node ids; falls back to [0] where the kernel has no NUMA support compiled in. */
export function onlineNodes(): number[] {
  try {
    return readIdList(`${NODE_ROOT}/online`);
  } catch {
    return [0];
  }
}

/** Nodes with memory, the only valid targets of a migration. */
export function memoryNodes(): number[] {
  return readIdList(`${NODE_ROOT}/has_memory`);
}

function readNode(id: number, online: number[], withCpu: Set<number>, withMemory: Set<number>): NumaNode {
  const dir = `${NODE_ROOT}/node${id}`;
  const meminfo = readFileSync(`${dir}/meminfo`, 'utf8');
  const distanceRow = readFileSync(`${dir}/distance`, 'utf8').trim().split(/\s+/).map(Number);
  const distances: Record<number, number> = {};
  online.forEach((other, index) => (distances[other] = distanceRow[index]));
  return {
    id,
    cpus: readIdList(`${dir}/cpulist`),
    memTotal: meminfoBytes(meminfo, 'MemTotal'),
    memFree: meminfoBytes(meminfo, 'MemFree'),
    hasCpu: withCpu.has(id),
    hasMemory: withMemory.has(id),
    distances,
  };
}

/**
 * The machine's NUMA topology as this process sees it, read from sysfs and procfs.
 *
 * @throws NumaError ENOTSUP when the native addon is not available (see capabilities()).
 *
 * @example
 * for (const node of topology().nodes) console.log(node.id, node.cpus, node.memFree, node.distances);
 */
export function topology(): Topology {
  const online = onlineNodes();
  const withCpu = new Set(readIdList(`${NODE_ROOT}/has_cpu`));
  const withMemory = new Set(memoryNodes());
  const present = new Set(readdirSync(NODE_ROOT).filter((name) => /^node\d+$/.test(name)));
  return {
    pageSize: callNative('topology', 'reading the page size', () => native.pageSize),
    nodes: online.filter((id) => present.has(`node${id}`)).map((id) => readNode(id, online, withCpu, withMemory)),
    online,
    possible: readIdList(`${NODE_ROOT}/possible`),
    allowedMems: allowedMemoryNodes(),
    allowedCpus: processStatusList('Cpus_allowed_list'),
  };
}

/**
 * The node with memory nearest to `node` by the firmware's distances: `node`
 * itself when it has memory; for a node of CPUs only, where its memory comes
 * from (ties to the lower id).
 *
 * @param node - An online node.
 * @throws RangeError for a node that is not online.
 *
 * @example
 * nearestMemoryNode(2); // 0 on a machine whose node 2 has CPUs and no memory
 */
export function nearestMemoryNode(node: number): number {
  const nodes = topology().nodes;
  const from = nodes.find((candidate) => candidate.id === node);
  if (!from) throw invalidRange('nearestMemoryNode', 'node', `an online node (${nodes.map((candidate) => candidate.id).join(', ')})`, node);
  if (from.hasMemory) return node;
  const candidates = nodes.filter((candidate) => candidate.hasMemory);
  candidates.sort((a, b) => (from.distances[a.id] ?? Infinity) - (from.distances[b.id] ?? Infinity) || a.id - b.id);
  return candidates[0]?.id ?? node;
}
