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
  /**
   * How fast this node's memory is from the CPUs that reach it best, from the firmware's HMAT
   * (sysfs access0); null where the firmware describes none (most machines without CXL or HBM).
   */
  access: MemoryAccess | null;
}

/** Performance of a memory node from its best initiators, as the kernel gives it (ACPI HMAT). */
export interface MemoryAccess {
  /** The nodes whose CPUs (or memory controllers) reach this memory best: access class 0. */
  initiators: number[];
  /** Read latency in nanoseconds; null where the firmware gives no figure. */
  readLatencyNs: number | null;
  /** Write latency in nanoseconds; null where the firmware gives no figure. */
  writeLatencyNs: number | null;
  /** Read bandwidth in MB/s; null where the firmware gives no figure. */
  readBandwidthMBps: number | null;
  /** Write bandwidth in MB/s; null where the firmware gives no figure. */
  writeBandwidthMBps: number | null;
}

/** A memory tier: nodes of similar performance (lower id = faster), from /sys/devices/virtual/memory_tiering. */
export interface MemoryTier {
  /** The kernel's tier number (memory_tierN): lower is faster; DRAM is usually 4. */
  id: number;
  /** Its memory nodes. */
  nodes: number[];
}

/** What a PCI device is for, from its class code. */
export type DeviceKind = 'network' | 'gpu' | 'storage' | 'accelerator' | 'other';

/** A PCI device other than a bridge, with the node the firmware attaches it to. */
export interface PciDevice {
  /** Domain:bus:device.function, as in /sys/bus/pci/devices: '0000:04:01.0'. */
  address: string;
  /** Base class, subclass and programming interface: 0x020000 for an Ethernet controller. */
  classCode: number;
  /** What it is for, from the class code: 'network', 'gpu', 'storage', 'accelerator' or 'other'. */
  kind: DeviceKind;
  /** PCI vendor id: 0x8086 Intel, 0x10de NVIDIA, 0x15b3 Mellanox, 0x1af4 virtio. */
  vendor: number;
  /** PCI device id, the vendor's number for the model. */
  device: number;
  /** The NUMA node of its PCI root, or null where the firmware gives none. */
  node: number | null;
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
  /** Memory tiers, fastest first; [] where the kernel has none (before Linux 6.1). */
  memoryTiers: MemoryTier[];
  /** PCI devices other than bridges, by address; [] where sysfs shows none. */
  devices: PciDevice[];
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

/** A number from sysfs, or null where the file is missing or not a number. */
function readNumber(file: string): number | null {
  try {
    const value = Number(readFileSync(file, 'utf8').trim());
    return Number.isFinite(value) ? value : null;
  } catch {
    return null;
  }
}

/** The names in a sysfs directory, or null where it does not exist (an older kernel, no such firmware table). */
function directoryEntries(dir: string): string[] | null {
  try {
    return readdirSync(dir);
  } catch {
    return null;
  }
}

function readAccess(dir: string): MemoryAccess | null {
  const initiatorsDir = `${dir}/access0/initiators`;
  const entries = directoryEntries(initiatorsDir);
  if (entries === null) return null;
  const initiators = entries.flatMap((name) => (/^node\d+$/.test(name) ? [Number(name.slice(4))] : [])).sort((a, b) => a - b);
  return {
    initiators,
    readLatencyNs: readNumber(`${initiatorsDir}/read_latency`),
    writeLatencyNs: readNumber(`${initiatorsDir}/write_latency`),
    readBandwidthMBps: readNumber(`${initiatorsDir}/read_bandwidth`),
    writeBandwidthMBps: readNumber(`${initiatorsDir}/write_bandwidth`),
  };
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
    access: readAccess(dir),
  };
}

/** Every online node, without the machine-wide parts of topology(): what placement decisions read. */
export function numaNodes(): NumaNode[] {
  const online = onlineNodes();
  const withCpu = new Set(readIdList(`${NODE_ROOT}/has_cpu`));
  const withMemory = new Set(memoryNodes());
  const present = new Set(readdirSync(NODE_ROOT).filter((name) => /^node\d+$/.test(name)));
  return online.filter((id) => present.has(`node${id}`)).map((id) => readNode(id, online, withCpu, withMemory));
}

const TIER_ROOT = '/sys/devices/virtual/memory_tiering';

function readMemoryTiers(): MemoryTier[] {
  return (directoryEntries(TIER_ROOT) ?? [])
    .flatMap((name) => (/^memory_tier\d+$/.test(name) ? [{ id: Number(name.slice('memory_tier'.length)), nodes: readIdList(`${TIER_ROOT}/${name}/nodelist`) }] : []))
    .sort((a, b) => a.id - b.id);
}

const PCI_ROOT = '/sys/bus/pci/devices';

/**
 * The kind of a PCI class code (base class, subclass, interface): network
 * (Ethernet and others, InfiniBand), gpu (display controllers), storage,
 * accelerator (processing accelerators, co-processors), other.
 */
export function deviceKind(classCode: number): DeviceKind {
  const base = classCode >> 16;
  const sub = (classCode >> 8) & 0xff;
  if (base === 0x02 || (base === 0x0c && sub === 0x06)) return 'network';
  if (base === 0x03) return 'gpu';
  if (base === 0x01) return 'storage';
  if (base === 0x12 || (base === 0x0b && sub === 0x40)) return 'accelerator';
  return 'other';
}

const PCI_BRIDGE_CLASS = 0x06;

/** PCI devices other than bridges, by address (topology().devices). */
export function pciDevices(): PciDevice[] {
  const devices: PciDevice[] = [];
  for (const address of (directoryEntries(PCI_ROOT) ?? []).sort()) {
    const dir = `${PCI_ROOT}/${address}`;
    const classCode = readNumber(`${dir}/class`);
    if (classCode === null || classCode >> 16 === PCI_BRIDGE_CLASS) continue;
    const node = readNumber(`${dir}/numa_node`);
    devices.push({
      address,
      classCode,
      kind: deviceKind(classCode),
      vendor: readNumber(`${dir}/vendor`) ?? 0,
      device: readNumber(`${dir}/device`) ?? 0,
      node: node === null || node < 0 ? null : node,
    });
  }
  return devices;
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
  return {
    pageSize: callNative('topology', 'reading the page size', () => native.pageSize),
    nodes: numaNodes(),
    online: onlineNodes(),
    possible: readIdList(`${NODE_ROOT}/possible`),
    allowedMems: allowedMemoryNodes(),
    allowedCpus: processStatusList('Cpus_allowed_list'),
    memoryTiers: readMemoryTiers(),
    devices: pciDevices(),
  };
}

/** Node `id` of `nodes`, or a RangeError for `fn`'s argument `arg` listing the online ones. */
export function onlineNode(nodes: NumaNode[], id: number, fn: string, arg: string): NumaNode {
  const node = nodes.find((candidate) => candidate.id === id);
  if (!node) throw invalidRange(fn, arg, `an online node (${nodes.map((candidate) => candidate.id).join(', ')})`, id);
  return node;
}

/** What memory nodes are ranked by (bestNode's `by`). */
export type RankBy = 'latency' | 'bandwidth' | 'distance';

/**
 * The HMAT figure of `target` as seen from node `from`, or undefined: the
 * kernel gives each memory node's figures for its best initiators only
 * (access0), so from any other node the figure is unknown.
 */
function figureFrom(target: NumaNode, from: number, by: RankBy): number | undefined {
  if (by === 'distance' || !target.access?.initiators.includes(from)) return undefined;
  const value = by === 'latency' ? target.access.readLatencyNs : target.access.readBandwidthMBps;
  if (value === null) return undefined;
  return by === 'latency' ? value : -value; // lower is better
}

/**
 * `candidates` best first for memory used from node `from`: those whose HMAT
 * figures cover `from`, by latency or bandwidth (as hwloc ranks targets of an
 * initiator); then the rest by the firmware's distance; ties to the lower id.
 */
export function rankMemoryNodes(candidates: NumaNode[], from: NumaNode, by: RankBy): NumaNode[] {
  const key = (node: NumaNode) => ({ figure: figureFrom(node, from.id, by), distance: from.distances[node.id] ?? Infinity });
  return candidates
    .map((node) => ({ node, ...key(node) }))
    .sort((a, b) => {
      if (a.figure !== undefined && b.figure !== undefined && a.figure !== b.figure) return a.figure - b.figure;
      if ((a.figure === undefined) !== (b.figure === undefined)) return a.figure === undefined ? 1 : -1;
      return a.distance - b.distance || a.node.id - b.node.id;
    })
    .map(({ node }) => node);
}

/**
 * The node with memory nearest to `node` by the firmware's distances: `node`
 * itself when it has memory; for a node of CPUs only, where its memory comes
 * from (ties to the lower id). bestNode() also weighs HMAT figures, free
 * memory and the cpuset.
 *
 * @param node - An online node.
 * @throws RangeError for a node that is not online.
 *
 * @example
 * nearestMemoryNode(2); // 0 on a machine whose node 2 has CPUs and no memory
 */
export function nearestMemoryNode(node: number): number {
  const nodes = numaNodes();
  const from = onlineNode(nodes, node, 'nearestMemoryNode', 'node');
  return rankMemoryNodes(nodes.filter((candidate) => candidate.hasMemory), from, 'distance')[0]?.id ?? node;
}
