// numaStat() and numaStatDelta(): every figure read back against the kernel's
// own files, read here directly and parsed independently; a process with
// 10,000 mappings (as the benchmark uses) counted exactly while it is stopped.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import t, { type Test } from 'tap';
import { allocOnNode, migrateBufferSync, migrateProcess, numaStat, numaStatDelta, type NumaStat, pageNodes } from '../lib/index';
import { childEnv, memoryNodeIds, multiNodeOrSkip, runAsNobody, stopped, tally, testCgroup } from './helpers';

const MANY = path.join(__dirname, 'fixtures', 'many-mappings.js');
const PAGE = 4096;

/** "name value" lines, as the kernel writes numastat and vmstat. */
function counters(file: string): Map<string, number> {
  return new Map(
    readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((line) => line.split(' '))
      .map(([name, value]) => [name, Number(value)]),
  );
}

/** Each counter of the reading lies between two direct reads of the file, one before and one after it, and they name the same counters. */
function between(t: Test, read: Record<string, number | undefined>, before: Map<string, number>, after: Map<string, number>, what: string): void {
  t.same(Object.keys(read), [...after.keys()].filter((name) => before.has(name)), `${what}: the counters the kernel lists, in its order`);
  const outside = Object.entries(read).filter(([name, value]) => !(value! >= before.get(name)! && value! <= after.get(name)!));
  t.same(outside, [], `${what}: every value between a read before and one after`);
}

t.test('numaStat(): every node\'s numastat and the system\'s migration and balancing counters, as the kernel lists them', async (t) => {
  const nodeRoot = '/sys/devices/system/node';
  const nodes = readdirSync(nodeRoot).filter((name) => /^node\d+$/.test(name)).map((name) => Number(name.slice(4))).sort((a, b) => a - b);
  const families = /^(numa_|pgmigrate_|pgpromote_|pgdemote_|thp_migration_)/;
  const vmstat = () => new Map([...counters('/proc/vmstat')].filter(([name]) => families.test(name)));
  const before = { nodes: nodes.map((node) => counters(`${nodeRoot}/node${node}/numastat`)), vmstat: vmstat() };
  const stat = numaStat();
  const after = { nodes: nodes.map((node) => counters(`${nodeRoot}/node${node}/numastat`)), vmstat: vmstat() };
  t.same([...stat.nodes.keys()], nodes, 'one entry per node directory');
  nodes.forEach((node, index) => between(t, stat.nodes.get(node)!, before.nodes[index], after.nodes[index], `node ${node}`));
  between(t, stat.vmstat, before.vmstat, after.vmstat, '/proc/vmstat');
  for (const name of ['numa_hint_faults', 'pgpromote_success', 'pgdemote_kswapd']) {
    t.equal(name in stat.vmstat, after.vmstat.has(name), `${name}: there exactly when this kernel has it`);
  }
  t.equal(stat.process, undefined, 'no process part unless asked');
  t.equal(stat.cgroup, undefined, 'no cgroup part unless asked');
});

/** A reference reading of numa_maps, by regular expressions: bytes per kind and node. */
function referenceMemory(text: string) {
  const byKind: Record<string, Record<number, number>> = {};
  const byNode: Record<number, number> = {};
  for (const line of text.split('\n').filter(Boolean)) {
    const kind = / heap( |$)/.test(line) ? 'heap' : / stack( |$)/.test(line) ? 'stack' : / huge( |$)/.test(line) ? 'huge' : / file=/.test(line) ? 'file' : / anon=/.test(line) ? 'anon' : 'other';
    const kib = Number(/ kernelpagesize_kB=(\d+)$/.exec(line)?.[1] ?? 4);
    for (const [, node, pages] of line.matchAll(/ N(\d+)=(\d+)/g)) {
      (byKind[kind] ??= {})[Number(node)] = (byKind[kind][Number(node)] ?? 0) + Number(pages) * kib * 1024;
      byNode[Number(node)] = (byNode[Number(node)] ?? 0) + Number(pages) * kib * 1024;
    }
  }
  return { byKind, byNode, mappings: text.split('\n').filter(Boolean).length };
}

/** Faults summed from every thread's sched file, by regular expressions. */
function referenceFaults(pid: number) {
  const byNode: Record<number, { private: number; shared: number }> = {};
  let local = 0;
  let total = 0;
  let pagesMigrated = 0;
  let shown = false;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    const text = readFileSync(`/proc/${pid}/task/${tid}/sched`, 'utf8');
    const current = Number(/current_node=(\d+)/.exec(text)?.[1]);
    pagesMigrated += Number(/numa_pages_migrated\s+:\s+(\d+)/.exec(text)?.[1] ?? 0);
    for (const [, node, own, shared] of text.matchAll(/numa_faults node=(\d+) task_private=(\d+) task_shared=(\d+)/g)) {
      shown = true;
      const entry = (byNode[Number(node)] ??= { private: 0, shared: 0 });
      entry.private += Number(own);
      entry.shared += Number(shared);
      total += Number(own) + Number(shared);
      if (Number(node) === current) local += Number(own) + Number(shared);
    }
  }
  return shown ? { byNode, local, total, pagesMigrated } : null;
}

const plain = (map: Map<number, number>) => Object.fromEntries(map);

/** The fixture with `count` one-page mappings over `nodes`, written; stopped once ready so that nothing it shows changes. Killed at teardown. */
async function manyMappings(t: Test, count: number, nodes: number[]): Promise<{ child: ChildProcess; byNode: Record<number, number> }> {
  const child = spawn(process.execPath, [MANY, String(count), nodes.join(',')], { env: childEnv(), stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => {
    child.kill('SIGKILL');
  });
  const [line] = (await once(child.stdout!, 'data')) as [Buffer];
  await stopped(child);
  return { child, byNode: JSON.parse(line.toString()).byNode };
}

t.test('numaStat({ pid }): a process of 10,000 mappings, per node and kind, and its NUMA balancing faults, as its files say', async (t) => {
  const nodes = memoryNodeIds();
  const { child, byNode } = await manyMappings(t, 10_000, nodes.slice(0, 2));
  const pid = child.pid!;
  const stat = numaStat({ pid });
  const reference = referenceMemory(readFileSync(`/proc/${pid}/numa_maps`, 'utf8'));
  t.equal(stat.process!.pid, pid);
  t.ok(stat.process!.mappings >= 10_000, `${stat.process!.mappings} mappings`);
  t.equal(stat.process!.mappings, reference.mappings, 'every line of numa_maps');
  t.same(plain(stat.process!.bytesByNode), reference.byNode, 'bytes per node');
  for (const [kind, bytes] of Object.entries(stat.process!.bytesByKind)) t.same(plain(bytes), reference.byKind[kind] ?? {}, `${kind}: bytes per node`);
  for (const [node, pages] of Object.entries(byNode)) {
    const anon = stat.process!.bytesByKind.anon.get(Number(node)) ?? 0;
    t.ok(anon >= pages * PAGE, `node ${node}: the ${pages} pages bound to it are among its ${anon} anonymous bytes`);
  }
  const faults = referenceFaults(pid);
  if (faults === null) t.equal(stat.process!.faults, null, 'no faults where the kernel shows none');
  else t.same({ ...stat.process!.faults!, byNode: Object.fromEntries(stat.process!.faults!.byNode) }, faults, 'faults per node, local, total and pages migrated');
});

t.test('numaStat({ pid }): a process holding transparent huge pages, per node as its numa_maps says', async (t) => {
  const node = memoryNodeIds()[0];
  const script = `const { allocOnNode } = require(${JSON.stringify(path.join(__dirname, '..', 'dist'))});
const b = allocOnNode(16 * 2 ** 20, ${node}, { hugePages: true }).fill(1); console.log('ready'); setInterval(() => b[0]++, 1000);`;
  const child = spawn(process.execPath, ['-e', script], { env: childEnv(), stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => {
    child.kill('SIGKILL');
  });
  await once(child.stdout!, 'data');
  await stopped(child);
  const pid = child.pid!;
  const stat = numaStat({ pid });
  const reference = referenceMemory(readFileSync(`/proc/${pid}/numa_maps`, 'utf8'));
  t.same(plain(stat.process!.bytesByNode), reference.byNode, 'bytes per node');
  t.same(plain(stat.process!.bytesByKind.anon), reference.byKind.anon ?? {}, 'anonymous bytes per node');
  t.ok((stat.process!.bytesByNode.get(node) ?? 0) >= 16 * 2 ** 20, `its 16 MiB on node ${node}`);
  // numa_maps counts a transparent huge page as the 512 pages it maps; smaps says how much of it is huge.
  const huge = 1024 * Number(/^AnonHugePages:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? 0);
  if (huge === 0) t.comment('no transparent huge page was given (THP off, or none free): small pages counted');
  else t.ok(huge >= 2 * 2 ** 20, `${huge >> 20} MiB of it in transparent huge pages`);
});

t.test('multi-node: a migration of N pages adds at least N to pgmigrate_success', async (t) => {
  const nodes = multiNodeOrSkip(t);
  if (!nodes) return;
  const [from, to] = nodes;
  const buffer = allocOnNode(8 * 2 ** 20, from, { hugePages: false }).fill(1);
  const before = numaStat();
  const report = migrateBufferSync(buffer, to, { countMoved: true });
  const delta = numaStatDelta(before, numaStat());
  t.equal(tally(pageNodes(buffer))[to], report.pages, `every page read back on node ${to}`);
  t.equal(report.moved, report.pages, `${report.moved} pages moved`);
  t.ok(delta.vmstat.pgmigrate_success! >= report.moved, `pgmigrate_success rose by ${delta.vmstat.pgmigrate_success}`);
});

/** The cgroup v2 directory of process `pid` and the file numaStat should read, found here from the kernel's files directly. */
function cgroupFile(pid: number): string | null {
  const line = readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n').find((entry) => entry.startsWith('0::'));
  const mount = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((entry) => entry.includes(' - cgroup2 '));
  if (!line || !mount) return null;
  const [, , , root, mountPoint] = mount.split(' ');
  const file = path.join(mountPoint, line.slice(3).slice(root === '/' ? 0 : root.length), 'memory.numa_stat');
  return existsSync(file) ? file : null;
}

/** memory.numa_stat parsed by regular expressions. */
function referenceCgroup(file: string) {
  const stats: Record<string, Record<number, number>> = {};
  for (const line of readFileSync(file, 'utf8').trim().split('\n')) {
    const [key] = line.split(' ');
    stats[key] = Object.fromEntries([...line.matchAll(/N(\d+)=(\d+)/g)].map(([, node, value]) => [Number(node), Number(value)]));
  }
  return stats;
}

/** In a guest: the fixture of 64 pages in a cgroup with the memory controller, stopped, so that its memory.numa_stat holds still. */
async function childInCgroup(t: Test): Promise<number> {
  const cgroup = testCgroup(t, ['memory']);
  const child = spawn(process.execPath, [MANY, '64', memoryNodeIds().slice(0, 2).join(',')], { env: childEnv(), stdio: ['ignore', 'pipe', 'inherit'] });
  cgroup.enter(child);
  await once(child.stdout!, 'data');
  await stopped(child);
  return child.pid!;
}

t.test('numaStat({ cgroup: true }): memory.numa_stat of the process\'s cgroup v2, or null where it has none', async (t) => {
  const own = numaStat({ cgroup: true }).cgroup;
  const file = cgroupFile(process.pid);
  if (file === null) t.equal(own, null, 'no cgroup v2 memory.numa_stat for this process here: null');
  else t.equal(own?.file, file, 'the file of this process\'s cgroup');
  if (!process.env.NUMAPLACE_VM_TOPOLOGY) return;
  const pid = await childInCgroup(t);
  const childFile = cgroupFile(pid)!;
  // The kernel moves a stopped process's pages between its LRU lists (a CI run saw inactive_anon drop by
  // 9 pages between two readings), so the reference is read before and after, until the two agree.
  let stat: NumaStat | undefined;
  let reference: ReturnType<typeof referenceCgroup> | undefined;
  let stable = false;
  for (let attempt = 0; attempt < 20 && !stable; attempt++) {
    reference = referenceCgroup(childFile);
    stat = numaStat({ pid, cgroup: true });
    stable = isDeepStrictEqual(reference, referenceCgroup(childFile));
  }
  t.ok(stable, 'memory.numa_stat held still across one reading');
  t.equal(stat!.cgroup?.path, '/numaplace-test');
  t.equal(stat!.cgroup?.file, childFile);
  const stats = Object.fromEntries(Object.entries(stat!.cgroup!.stats).map(([key, byNode]) => [key, plain(byNode)]));
  t.same(stats, reference, 'every entry, per node');
  t.ok(Object.values(stats.anon).reduce((sum, bytes) => sum + bytes, 0) >= 64 * PAGE, 'its 64 written pages are anonymous memory of the cgroup, in bytes');
});

t.test('numaStatDelta(): what changed between two readings, and the seconds between them', async (t) => {
  const nodes = memoryNodeIds();
  const node = nodes[0];
  const before = numaStat({ pid: 0 });
  const buffer = allocOnNode(16 * 2 ** 20, node, { hugePages: false }).fill(1);
  const after = numaStat({ pid: 0 });
  const delta = numaStatDelta(before, after);
  t.equal(delta.seconds, (after.readAt - before.readAt) / 1000);
  t.ok(delta.seconds > 0);
  t.ok(delta.nodes.get(node)!.numa_hit! >= buffer.length / PAGE, `node ${node}: numa_hit rose by ${delta.nodes.get(node)!.numa_hit} for ${buffer.length / PAGE} pages`);
  t.same(Object.keys(delta.vmstat), Object.keys(after.vmstat), 'every system counter both readings have');
  t.equal(delta.cgroup, undefined, 'no cgroup part where the readings have none');
  t.throws(() => numaStatDelta(after, before), { name: 'RangeError', message: /^numaStatDelta: `after` was read before `before`/ });
  const other = numaStat({ pid: process.ppid });
  t.throws(() => numaStatDelta(before, other), { name: 'RangeError', message: /different processes \(pid 0 and / });
  t.throws(() => numaStatDelta({} as NumaStat, after), { name: 'TypeError', message: /^numaStatDelta: expected a reading of numaStat\(\) for `before`/ });

  // A process's part, on a stopped child whose memory only moves when moved (to another node, where there is one):
  // the delta is what its numa_maps, read here, says changed.
  const { child } = await manyMappings(t, 64, nodes);
  const pid = child.pid!;
  const earlier = { stat: numaStat({ pid }), memory: referenceMemory(readFileSync(`/proc/${pid}/numa_maps`, 'utf8')).byNode };
  if (nodes.length > 1) await migrateProcess(pid, [nodes[0]], [nodes[1]]);
  const later = { stat: numaStat({ pid }), memory: referenceMemory(readFileSync(`/proc/${pid}/numa_maps`, 'utf8')).byNode };
  const change = numaStatDelta(earlier.stat, later.stat).process!;
  const expected = Object.fromEntries(
    [...new Set([...Object.keys(earlier.memory), ...Object.keys(later.memory)])].map((id) => [id, (later.memory[Number(id)] ?? 0) - (earlier.memory[Number(id)] ?? 0)]),
  );
  t.same(plain(change.bytesByNode), expected, 'bytes gained per node, as numa_maps says');
  if (nodes.length > 1) t.ok(change.bytesByNode.get(nodes[1])! > 0 && change.bytesByNode.get(nodes[1]) === -change.bytesByNode.get(nodes[0])!, 'what one node lost, the other gained');
  const faults = (stat: NumaStat) => stat.process!.faults?.pagesMigrated;
  t.equal(change.pagesMigrated, faults(later.stat) === undefined ? null : faults(later.stat)! - faults(earlier.stat)!);
});

t.test('numaStat: wrong options are refused before any read; files it cannot read are NumaErrors naming them', async (t) => {
  t.throws(() => numaStat({ pid: -1 }), { name: 'RangeError', message: /^numaStat: .* for `options.pid`/ });
  t.throws(() => numaStat({ cgroup: 1 as unknown as boolean }), { name: 'TypeError', message: /`options.cgroup`/ });
  t.throws(() => numaStat({ pids: 1 } as never), { name: 'TypeError', message: /unknown option `options.pids` \(did you mean `pid`\?\)/ });
  if (process.getuid?.() !== 0) return;
  const child = spawn('sleep', ['60']);
  t.teardown(() => {
    child.kill('SIGKILL');
  });
  const result = JSON.parse(
    runAsNobody(`try { require('./dist').numaStat({ pid: ${child.pid} }); console.log('{}'); } catch (e) { console.log(JSON.stringify({ name: e.name, code: e.code, message: e.message })); }`),
  );
  t.match(result, { name: 'NumaError', code: 'EACCES', message: new RegExp(`^numaStat: .*/proc/${child.pid}/numa_maps`) });
});
