// Where to put memory for a CPU, a node or a device: the firmware's HMAT
// figures where it gives them, its distances otherwise.
import { constants } from 'node:os';
import { invalidRange, invalidType, NumaError } from './errors';
import { allowedMemoryNodes, type NumaNode, numaNodes, onlineNode, pciDevices, rankMemoryNodes, type RankBy } from './topology';
import { byteCountOption, idArgument, optionsArgument } from './validate';

export interface BestNodeOptions {
  /** Whose memory: the node of a CPU, a node, or the node of a PCI device (its address, as in topology().devices). */
  near: { cpu: number } | { node: number } | { device: string };
  /** 'latency' (the default) or 'bandwidth' from the firmware's HMAT where it covers `near`, else distance; or 'distance'. */
  by?: RankBy;
  /** Leave out nodes with less free memory than this many bytes (default: none left out). */
  minFreeBytes?: number;
}

const RANKINGS: readonly RankBy[] = ['latency', 'bandwidth', 'distance'];

/** The node `near` names, checked: an online node, the node of an online CPU, or of a device the firmware places. */
function nearNode(near: unknown, nodes: NumaNode[], fn: string): NumaNode | null {
  if (near === null || typeof near !== 'object') throw invalidType(fn, 'options.near', '{ cpu }, { node } or { device }', near);
  const keys = Object.keys(near);
  if (keys.length !== 1 || !['cpu', 'node', 'device'].includes(keys[0])) {
    throw invalidRange(fn, 'options.near', 'exactly one of { cpu }, { node } or { device }', near);
  }
  const given = near as Record<string, unknown>;
  if ('cpu' in given) {
    const cpu = idArgument(given.cpu, fn, 'options.near.cpu', 'CPU');
    const node = nodes.find((candidate) => candidate.cpus.includes(cpu));
    if (!node) throw invalidRange(fn, 'options.near.cpu', 'an online CPU id', cpu);
    return node;
  }
  if ('node' in given) {
    const id = idArgument(given.node, fn, 'options.near.node', 'node');
    return onlineNode(nodes, id, fn, 'options.near.node');
  }
  if (typeof given.device !== 'string') throw invalidType(fn, 'options.near.device', "a PCI address such as '0000:03:00.0'", given.device);
  const devices = pciDevices();
  const device = devices.find((candidate) => candidate.address === given.device);
  if (!device) throw invalidRange(fn, 'options.near.device', `a PCI device of this machine (${devices.map((d) => d.address).join(', ')})`, given.device);
  return device.node === null ? null : (nodes.find((candidate) => candidate.id === device.node) ?? null);
}

/**
 * The memory node to place data on for a CPU, a node or a PCI device: with
 * the firmware's HMAT figures (`by: 'latency'`, the default, or
 * `'bandwidth'`) where they cover it, else by the firmware's distances — the
 * node itself when it has memory, for a node of CPUs only the node its memory
 * comes from, for a NIC or GPU the node of its PCI root. Only nodes this
 * process may allocate on (cpuset) and with at least `minFreeBytes` free are
 * considered. A device the firmware gives no node is near none of them: on a
 * machine with one memory node that node is the answer, on others an error.
 *
 * @param options - `near` ({ cpu }, { node } or { device }), `by`, `minFreeBytes`.
 * @throws TypeError/RangeError for invalid options or a CPU, node or device this machine does not have; NumaError ENOMEM when no node has `minFreeBytes` free; NumaError ENODEV for a device without a node on a machine with several memory nodes.
 *
 * @example
 * const nic = topology().devices.find((device) => device.kind === 'network');
 * const rxBuffers = allocOnNode(64 * 2 ** 20, bestNode({ near: { device: nic.address }, by: 'bandwidth' }));
 */
export function bestNode(options: BestNodeOptions): number {
  const fn = 'bestNode';
  if (options === undefined) throw invalidType(fn, 'options', 'an options object with `near`', options);
  const { near, by = 'latency', minFreeBytes } = optionsArgument(options, fn);
  if (!RANKINGS.includes(by)) throw invalidRange(fn, 'options.by', `one of ${RANKINGS.map((name) => `'${name}'`).join(', ')}`, by);
  const minFree = byteCountOption(minFreeBytes, fn, 'minFreeBytes');
  const nodes = numaNodes();
  const from = nearNode(near, nodes, fn);
  const allowed = allowedMemoryNodes();
  const usable = nodes.filter((node) => node.hasMemory && allowed.includes(node.id));
  const candidates = usable.filter((node) => node.memFree >= minFree);
  if (candidates.length === 0) {
    const free = usable.map((node) => `node ${node.id} ${node.memFree}`).join(', ');
    throw new NumaError(`${fn}: no node this process may allocate on has ${minFree} bytes free (ENOMEM); free bytes: ${free}`, {
      errno: -constants.errno.ENOMEM,
      syscall: 'read',
    });
  }
  if (from === null) {
    if (candidates.length === 1) return candidates[0].id;
    const address = (near as { device: string }).device;
    throw new NumaError(
      `${fn}: the firmware gives device ${address} no NUMA node (ENODEV), so no node is nearer to it than another; pick one with { near: { node } }`,
      { errno: -constants.errno.ENODEV, syscall: 'read' },
    );
  }
  return rankMemoryNodes(candidates, from, by)[0].id;
}
