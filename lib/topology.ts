import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { native } from './binding';
import { idListText, MAX_CPUS, MAX_NODES } from './checks';
import { callNative, malformedFile, translate } from './errors';

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
 * @param text - A list such as `0-3,8`, of ids up to 8191 (the most CPUs Linux supports).
 * @throws TypeError for a value that is not a string; RangeError for text that is not such a list, a range that runs backwards or an id above 8191.
 *
 * @example
 * parseIdList('0-3,8'); // [0, 1, 2, 3, 8]
 */
export function parseIdList(text: string): number[] {
  return idListText(text, 'parseIdList', 'text', MAX_CPUS - 1);
}

/** The text of a sysfs or procfs file, or a NumaError naming the function `fn` and the file. */
export function readKernelFile(fn: string, file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw translate(error, fn, `for ${file}`);
  }
}

/**
 * readKernelFile(), or null where the file does not exist: a kernel built
 * without the feature, a cgroup without the controller, a thread that has exited.
 */
export function readKernelFileIfPresent(fn: string, file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    const { code } = error as NodeJS.ErrnoException;
    if (code === 'ENOENT' || code === 'ESRCH') return null;
    throw translate(error, fn, `for ${file}`);
  }
}

/** An id list the kernel wrote (ids below `limit`), or a NumaError naming the file. */
function readIdList(fn: string, file: string, limit = MAX_CPUS): number[] {
  const text = readKernelFile(fn, file);
  try {
    return idListText(text, fn, file, limit - 1);
  } catch {
    throw malformedFile(fn, file, text, `a list of ids below ${limit}`);
  }
}

function meminfoBytes(text: string, field: string): number {
  const match = new RegExp(`${field}:\\s+(\\d+) kB`).exec(text);
  return match ? Number(match[1]) * 1024 : 0;
}

/**
 * The id list of `field` in the text of a /proc status file (`file`, for the
 * error): [] where the kernel shows no such field, a NumaError naming the file
 * where it holds anything but a list of ids below `limit`.
 */
export function statusList(fn: string, file: string, text: string, field: string, limit: number): number[] {
  const match = new RegExp(`^${field}:\\s*(.*)$`, 'm').exec(text);
  if (!match) return [];
  try {
    return idListText(match[1], fn, field, limit - 1);
  } catch {
    throw malformedFile(fn, `${file} (${field})`, match[1], `a list of ids below ${limit}`);
  }
}

function processStatusList(fn: string, field: string, limit: number, pid: number | 'self' = 'self'): number[] {
  const file = `/proc/${pid}/status`;
  return statusList(fn, file, readKernelFile(fn, file), field, limit);
}

/** The nodes the cpuset of this process (or of process `pid`) lets it allocate on (Mems_allowed_list). */
export function allowedMemoryNodes(fn = 'topology', pid: number | 'self' = 'self'): number[] {
  return processStatusList(fn, 'Mems_allowed_list', MAX_NODES, pid);
}

/** The CPUs this process may run on (Cpus_allowed_list). */
export function allowedCpus(fn = 'topology'): number[] {
  return processStatusList(fn, 'Cpus_allowed_list', MAX_CPUS);
}

/** Online node ids; [0] where the kernel has no NUMA support compiled in (no node directory). */
export function onlineNodes(fn = 'topology'): number[] {
  if (!existsSync(NODE_ROOT)) return [0];
  return readIdList(fn, `${NODE_ROOT}/online`, MAX_NODES);
}

/** Nodes with memory, the only valid targets of a migration. */
export function memoryNodes(fn = 'topology'): number[] {
  return readIdList(fn, `${NODE_ROOT}/has_memory`, MAX_NODES);
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

/** A node's distances to every online node, in the order of `online` (its SLIT row). */
function readDistances(fn: string, file: string, online: number[]): Record<number, number> {
  const text = readKernelFile(fn, file);
  const row = text.trim().split(/\s+/);
  if (row.length !== online.length || !row.every((entry) => /^\d+$/.test(entry))) {
    throw malformedFile(fn, file, text, `${online.length} distances, one per online node`);
  }
  const distances: Record<number, number> = {};
  online.forEach((other, index) => (distances[other] = Number(row[index])));
  return distances;
}

function readNode(fn: string, id: number, online: number[], withCpu: Set<number>, withMemory: Set<number>): NumaNode {
  const dir = `${NODE_ROOT}/node${id}`;
  const meminfo = readKernelFile(fn, `${dir}/meminfo`);
  const distances = readDistances(fn, `${dir}/distance`, online);
  return {
    id,
    cpus: readIdList(fn, `${dir}/cpulist`),
    memTotal: meminfoBytes(meminfo, 'MemTotal'),
    memFree: meminfoBytes(meminfo, 'MemFree'),
    hasCpu: withCpu.has(id),
    hasMemory: withMemory.has(id),
    distances,
    access: readAccess(dir),
  };
}

/**
 * Every online node, without the machine-wide parts of topology(): what
 * placement decisions read. A node the kernel lists online without a
 * directory of its own is left out.
 */
export function numaNodes(fn = 'topology'): NumaNode[] {
  const online = onlineNodes(fn);
  const withCpu = new Set(readIdList(fn, `${NODE_ROOT}/has_cpu`, MAX_NODES));
  const withMemory = new Set(memoryNodes(fn));
  const present = new Set((directoryEntries(NODE_ROOT) ?? []).filter((name) => /^node\d+$/.test(name)));
  return online.filter((id) => present.has(`node${id}`)).map((id) => readNode(fn, id, online, withCpu, withMemory));
}

const TIER_ROOT = '/sys/devices/virtual/memory_tiering';

/** The memory tiers, fastest first; [] where the kernel has none. */
export function readMemoryTiers(fn: string): MemoryTier[] {
  return (directoryEntries(TIER_ROOT) ?? [])
    .flatMap((name) =>
      /^memory_tier\d+$/.test(name) ? [{ id: Number(name.slice('memory_tier'.length)), nodes: readIdList(fn, `${TIER_ROOT}/${name}/nodelist`, MAX_NODES) }] : [],
    )
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

/** PCI devices other than bridges, by address (topology().devices); a device whose files cannot be read is left out. */
export function pciDevices(_fn = 'topology'): PciDevice[] {
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
  const fn = 'topology';
  return {
    pageSize: callNative(fn, 'reading the page size', () => native.pageSize),
    nodes: numaNodes(fn),
    online: onlineNodes(fn),
    possible: existsSync(NODE_ROOT) ? readIdList(fn, `${NODE_ROOT}/possible`, MAX_NODES) : [0],
    allowedMems: allowedMemoryNodes(fn),
    allowedCpus: allowedCpus(fn),
    memoryTiers: readMemoryTiers(fn),
    devices: pciDevices(fn),
  };
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

const WEIGHTS_ROOT = '/sys/kernel/mm/mempolicy/weighted_interleave';

/** The kernel's weighted-interleave files: one weight file per node, and the switch of its auto mode. */
export interface WeightFiles {
  /** The weight file of each node that has one, by node id. */
  nodes: Map<number, string>;
  /** The auto-mode file (Linux 6.16+), or null. */
  auto: string | null;
}

/**
 * The kernel's weighted-interleave files, or null where it has none (before
 * Linux 6.9). Linux 6.9 to 6.15 give every possible node a file, 6.16+ every
 * node with memory. 6.18 builds name the auto switch `__auto_type`: the kernel
 * then defined `auto` as a C23 keyword macro, which renamed the attribute.
 */
export function weightFiles(): WeightFiles | null {
  const entries = directoryEntries(WEIGHTS_ROOT);
  if (entries === null) return null;
  const nodes = entries
    .filter((name) => /^node\d+$/.test(name))
    .map((name): [number, string] => [Number(name.slice(4)), `${WEIGHTS_ROOT}/${name}`])
    .sort(([a], [b]) => a - b);
  const auto = ['auto', '__auto_type'].find((name) => entries.includes(name));
  return { nodes: new Map(nodes), auto: auto === undefined ? null : `${WEIGHTS_ROOT}/${auto}` };
}
