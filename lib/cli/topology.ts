import { topology, type Topology } from '../topology';
import { formatBytes, formatIdList, formatTable, toJson } from './format';

export const TOPOLOGY_HELP = `numaplace topology [--json]

  The NUMA nodes of this machine: CPUs, memory total and free, nodes without
  CPUs or memory, the distance matrix, and what this process may use (cpuset).`;

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
  return [
    nodes,
    '',
    'distances (10 = local):',
    distances,
    '',
    `page size ${machine.pageSize} B · this process may use nodes ${formatIdList(machine.allowedMems)}, ` +
      `CPUs ${formatIdList(machine.allowedCpus)}`,
  ].join('\n');
}

export function topologyCommand(json: boolean): string {
  const machine = topology();
  return json ? toJson(machine) : formatTopology(machine);
}
