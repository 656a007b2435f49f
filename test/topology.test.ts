import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import t from 'tap';
import { currentCpu, parseIdList, topology } from '../lib/index';

const sysfs = (file: string) => readFileSync(`/sys/devices/system/node/${file}`, 'utf8').trim();

t.test('parseIdList reads the kernel list format', async (t) => {
  t.same(parseIdList('0-3,8,10-11\n'), [0, 1, 2, 3, 8, 10, 11]);
  t.same(parseIdList('\n'), []);
  t.same(parseIdList('5'), [5]);
});

t.test('topology matches /sys/devices/system/node', async (t) => {
  const topo = topology();
  t.same(topo.online, parseIdList(sysfs('online')));
  t.same(topo.possible, parseIdList(sysfs('possible')));
  t.same(topo.nodes.map((node) => node.id), topo.online);
  for (const node of topo.nodes) {
    t.same(node.cpus, parseIdList(sysfs(`node${node.id}/cpulist`)), `cpus of node ${node.id}`);
    t.equal(node.hasCpu, node.cpus.length > 0, `hasCpu of node ${node.id}`);
    t.equal(node.hasMemory, parseIdList(sysfs('has_memory')).includes(node.id));
    t.equal(node.distances[node.id], 10, `local distance of node ${node.id}`);
    t.ok(node.memFree <= node.memTotal, 'memFree <= memTotal');
    if (node.hasMemory) t.ok(node.memTotal > 0, `node ${node.id} has memory`);
  }
  const status = readFileSync('/proc/self/status', 'utf8');
  t.same(topo.allowedMems, parseIdList(/Mems_allowed_list:\s*(.*)/.exec(status)![1]));
  t.same(topo.allowedCpus, parseIdList(/Cpus_allowed_list:\s*(.*)/.exec(status)![1]));
});

t.test('topology matches numactl --hardware', async (t) => {
  let hardware: string;
  try {
    hardware = execFileSync('numactl', ['--hardware'], { encoding: 'utf8' });
  } catch {
    // .ci/run installs numactl; a developer machine without it still runs the sysfs checks above.
    t.comment('numactl is not installed: sysfs checks only');
    return;
  }
  const topo = topology();
  t.match(hardware, new RegExp(`available: ${topo.online.length} nodes`));
  for (const node of topo.nodes) {
    const cpuLine = new RegExp(`^node ${node.id} cpus:(.*)$`, 'm').exec(hardware);
    t.same(cpuLine?.[1].trim().split(/\s+/).filter(Boolean).map(Number), node.cpus, `numactl cpus of node ${node.id}`);
    const sizeLine = new RegExp(`^node ${node.id} size: (\\d+) MB$`, 'm').exec(hardware);
    t.equal(Number(sizeLine?.[1]), Math.floor(node.memTotal / 2 ** 20), `numactl size of node ${node.id}`);
  }
  const distanceRows = hardware.slice(hardware.indexOf('node distances:')).trim().split('\n').slice(2);
  topo.nodes.forEach((node, row) => {
    const cells = distanceRows[row].trim().split(/\s+/).slice(1).map(Number);
    t.same(cells, topo.online.map((other) => node.distances[other]), `distances of node ${node.id}`);
  });
});

t.test('currentCpu agrees with topology', async (t) => {
  const { cpu, node } = currentCpu();
  const topo = topology();
  t.ok(topo.allowedCpus.includes(cpu), `cpu ${cpu} is allowed`);
  t.ok(topo.nodes.find((candidate) => candidate.id === node)?.cpus.includes(cpu), `cpu ${cpu} belongs to node ${node}`);
});
