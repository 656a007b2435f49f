import { topology, type Topology } from '../topology';
import { formatBytes, formatIdList, formatTable, toJson } from './format';

export const TOPOLOGY_HELP = `numaplace topology [--json]

  The NUMA nodes of this machine: CPUs, memory total and free, nodes without
  CPUs or memory, the distance matrix, memory latency and bandwidth where the
  firmware gives them (ACPI HMAT), memory tiers, the node of each network,
  GPU, storage and accelerator device, and what this process may use (cpuset).`;

function notes(node: Topology['nodes'][number]): string {
  const marks = [];
  if (!node.hasCpu) marks.push('no CPUs');
  if (!node.hasMemory) marks.push('no memory');
  return marks.join(', ');
}

export function formatTopology(machine: Topology): string {
  const nodes = formatTable([
    ['node', 'cpus', 'memory', 'free', 'notes'],
    ...machine.nodes.map((node) => [
      String(node.id),
      formatIdList(node.cpus),
      formatBytes(node.memTotal),
      formatBytes(node.memFree),
      notes(node),
    ]),
  ]);
  const ids = machine.nodes.map((node) => node.id);
  const distances = formatTable([
    ['', ...ids.map(String)],
    ...machine.nodes.map((node) => [String(node.id), ...ids.map((other) => String(node.distances[other] ?? '-'))]),
  ]);
  const described = machine.nodes.filter((node) => node.access !== null);
  const figure = (value: number | null, unit: string) => (value === null ? '-' : `${value} ${unit}`);
  const access = described.length === 0 ? [] : [
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
  const tiers = machine.memoryTiers.length === 0 ? [] : [
    '',
    `memory tiers, fastest first: ${machine.memoryTiers.map((tier) => `${tier.id}: nodes ${formatIdList(tier.nodes)}`).join(' · ')}`,
  ];
  const placed = machine.devices.filter((device) => device.kind !== 'other');
  const devices = placed.length === 0 ? [] : [
    '',
    'devices:',
    formatTable([
      ['address', 'kind', 'node'],
      ...placed.map((device) => [device.address, device.kind, device.node === null ? '-' : String(device.node)]),
    ]),
  ];
  return [
    nodes,
    '',
    'distances (10 = local):',
    distances,
    ...access,
    ...tiers,
    ...devices,
    '',
    `page size ${machine.pageSize} B · this process may use nodes ${formatIdList(machine.allowedMems)}, ` +
      `CPUs ${formatIdList(machine.allowedCpus)}`,
  ].join('\n');
}

export function topologyCommand(json: boolean): string {
  const machine = topology();
  return json ? toJson(machine) : formatTopology(machine);
}
