// Where to put memory for a CPU, a node or a device: the firmware's HMAT
// figures where it gives them, its distances otherwise.
import { byteCountOption, choiceOption, type Near, nearArgument, nodeArgument, optionsArgument } from './checks';
import { conditionError, type NumaError } from './errors';
import { nodeOfOnlineCpu, onlineNode, pciDevice } from './preconditions';
import { allowedMemoryNodes, type NumaNode, numaNodes, rankMemoryNodes, type RankBy } from './topology';

export interface BestNodeOptions {
  /** Whose memory: the node of a CPU, a node, or the node of a PCI device (its address, as in topology().devices). */
  near: { cpu: number } | { node: number } | { device: string };
  /** 'latency' (the default) or 'bandwidth' from the firmware's HMAT where it covers `near`, else distance; or 'distance'. */
  by?: RankBy;
  /** Leave out nodes with less free memory than this many bytes (default: none left out). */
  minFreeBytes?: number;
}

const RANKINGS: readonly RankBy[] = ['latency', 'bandwidth', 'distance'];

/** The node `near` names: an online node, the node of an online CPU, or of a PCI device (null where the firmware gives it none). */
export function nearNode(fn: string, near: Near, nodes: NumaNode[]): NumaNode | null {
  if ('cpu' in near) return nodeOfOnlineCpu(fn, near.cpu, nodes);
  if ('node' in near) return onlineNode(fn, near.node, nodes);
  const { node } = pciDevice(fn, near.device);
  return node === null ? null : (nodes.find((candidate) => candidate.id === node) ?? null);
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
 * @throws TypeError/RangeError for invalid options; NumaError ENODEV for a CPU or node that is not online, a device this machine does not have, or a device without a node on a machine with several memory nodes; NumaError ENOMEM when no node has `minFreeBytes` free.
 *
 * @example
 * const nic = topology().devices.find((device) => device.kind === 'network');
 * const rxBuffers = allocOnNode(64 * 2 ** 20, bestNode({ near: { device: nic.address }, by: 'bandwidth' }));
 */
export function bestNode(options: BestNodeOptions): number {
  const fn = 'bestNode';
  const { near, by, minFreeBytes } = optionsArgument(options, fn, ['near', 'by', 'minFreeBytes']);
  return bestNodeFor(fn, nearArgument(near, fn), choiceOption(by, fn, 'by', RANKINGS, 'latency'), byteCountOption(minFreeBytes, fn, 'minFreeBytes'));
}

/** bestNode() for checked arguments, its errors naming the public function `fn` that asked. */
export function bestNodeFor(fn: string, near: Near, ranking: RankBy = 'latency', minFree = 0): number {
  const nodes = numaNodes(fn);
  const from = nearNode(fn, near, nodes);
  const allowed = allowedMemoryNodes(fn);
  const usable = nodes.filter((node) => node.hasMemory && allowed.includes(node.id));
  const candidates = usable.filter((node) => node.memFree >= minFree);
  if (candidates.length === 0) {
    const free = usable.map((node) => `node ${node.id} ${node.memFree}`).join(', ');
    throw conditionError(fn, 'ENOMEM', `no node this process may allocate on has ${minFree} bytes free`, `free bytes: ${free}`);
  }
  if (from === null) {
    if (candidates.length === 1) return candidates[0].id;
    throw withoutNode(fn, near);
  }
  return rankMemoryNodes(candidates, from, ranking)[0].id;
}

/** ENODEV for a `near` device the firmware gives no node: no node is nearer to it than another. */
export function withoutNode(fn: string, near: Near): NumaError {
  const address = (near as { device: string }).device;
  return conditionError(fn, 'ENODEV', `the firmware gives device ${address} no NUMA node`, 'no node is nearer to it than another; pick one with { near: { node } }');
}

/**
 * The node with memory nearest to `node` by the firmware's distances: `node`
 * itself when it has memory; for a node of CPUs only, where its memory comes
 * from (ties to the lower id). bestNode() also weighs HMAT figures, free
 * memory and the cpuset.
 *
 * @param node - An online node.
 * @throws RangeError for a value that is not a node id; NumaError ENODEV for a node that is not online.
 *
 * @example
 * nearestMemoryNode(2); // 0 on a machine whose node 2 has CPUs and no memory
 */
export function nearestMemoryNode(node: number): number {
  const fn = 'nearestMemoryNode';
  const id = nodeArgument(node, fn);
  const nodes = numaNodes(fn);
  const from = onlineNode(fn, id, nodes);
  return rankMemoryNodes(nodes.filter((candidate) => candidate.hasMemory), from, 'distance')[0]?.id ?? id;
}
