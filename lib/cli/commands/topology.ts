// numaplace topology (numactl --hardware): the nodes, their CPUs, memory,
// distances and HMAT figures, memory tiers, devices.
import { topology, type Topology } from '../../topology';
import { type InterleaveWeights, interleaveWeights } from '../../weights';
import { defineCommand, JSON_OPTION, jsonOnly } from '../command';
import { formatBytes, formatIdList, formatTable, toJson } from '../format';

function notes(node: Topology['nodes'][number]): string {
  const marks = [];
  if (!node.hasCpu) marks.push('no CPUs');
  if (!node.hasMemory) marks.push('no memory');
  return marks.join(', ');
}

/** Memory latency and bandwidth from each node's nearest CPUs, where the firmware gives them. */
function accessSection(machine: Topology): string[] {
  const described = machine.nodes.filter((node) => node.access !== null);
  if (described.length === 0) return [];
  const figure = (value: number | null, unit: string) => (value === null ? '-' : `${value} ${unit}`);
  return [
    '',
    'memory performance from its nearest CPUs (firmware HMAT):',
    formatTable([
      ['node', 'from', 'read latency', 'write latency', 'read bandwidth', 'write bandwidth'],
      ...described.map(({ id, access }) => [
        String(id),
        formatIdList(access!.initiators),
        figure(access!.readLatencyNs, 'ns'),
        figure(access!.writeLatencyNs, 'ns'),
        figure(access!.readBandwidthMBps, 'MB/s'),
        figure(access!.writeBandwidthMBps, 'MB/s'),
      ]),
    ]),
  ];
}

function devicesSection(machine: Topology): string[] {
  const placed = machine.devices.filter((device) => device.kind !== 'other');
  if (placed.length === 0) return [];
  return [
    '',
    'devices:',
    formatTable([['address', 'kind', 'node'], ...placed.map((device) => [device.address, device.kind, device.node === null ? '-' : String(device.node)])]),
  ];
}

/** The kernel's weighted-interleave weights (Linux 6.9+), and whether auto mode sets them (6.16+). */
function weightsSection(weights: InterleaveWeights | null): string[] {
  if (weights === null) return ['', 'weighted interleave weights: none (needs Linux 6.9+)'];
  const each = Object.entries(weights.weights).map(([node, weight]) => `node ${node}: ${weight}`);
  const auto = weights.auto === null ? '' : ` (auto: ${weights.auto ? 'on' : 'off'})`;
  return ['', `weighted interleave weights: ${each.join(' · ')}${auto}`];
}

function formatTopology(machine: Topology, weights: InterleaveWeights | null): string {
  const nodes = formatTable([
    ['node', 'cpus', 'memory', 'free', 'notes'],
    ...machine.nodes.map((node) => [String(node.id), formatIdList(node.cpus), formatBytes(node.memTotal), formatBytes(node.memFree), notes(node)]),
  ]);
  const ids = machine.nodes.map((node) => node.id);
  const distances = formatTable([
    ['', ...ids.map(String)],
    ...machine.nodes.map((node) => [String(node.id), ...ids.map((other) => String(node.distances[other] ?? '-'))]),
  ]);
  const tiers = machine.memoryTiers.length === 0 ? [] : [
    '',
    `memory tiers, fastest first: ${machine.memoryTiers.map((tier) => `${tier.id}: nodes ${formatIdList(tier.nodes)}`).join(' · ')}`,
  ];
  return [
    nodes,
    '',
    'distances (10 = local):',
    distances,
    ...accessSection(machine),
    ...tiers,
    ...weightsSection(weights),
    ...devicesSection(machine),
    '',
    `page size ${machine.pageSize} B · this process may use nodes ${formatIdList(machine.allowedMems)}, ` +
      `CPUs ${formatIdList(machine.allowedCpus)}`,
  ].join('\n');
}

export const topologyCommand = defineCommand({
  name: 'topology',
  aliases: ['--hardware', '-H'],
  summary: 'nodes: CPUs, memory, distances, HMAT figures, devices',
  usage: ['topology [--json]'],
  description: `  The NUMA nodes of this machine: CPUs, memory total and free, nodes without
  CPUs or memory, the distance matrix, memory latency and bandwidth where the
  firmware gives them (ACPI HMAT), memory tiers, the node of each network,
  GPU, storage and accelerator device, the kernel's weighted-interleave
  weights, and what this process may use (cpuset).
  numaplace --hardware and -H, numactl's spellings, are this command.`,
  options: { ...JSON_OPTION },
  check: jsonOnly,
  run: (json) => {
    const machine = topology();
    const weights = interleaveWeights();
    return { text: json ? toJson({ ...machine, interleaveWeights: weights }) : formatTopology(machine, weights) };
  },
});
