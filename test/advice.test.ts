// placementAdvice(): its rules on the figures of machines this host is not
// (adviseOn, given observations), then in the guests on real processes: a
// finding names the misplacement with its figures, read back here from the
// kernel's files, and running its fix as written clears it.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { adviseOn, AWAY_MIN_SHARE } from '../lib/advice';
import { type Finding, migrateProcess, placementAdvice, spawnOnNode, topology } from '../lib/index';
import { childEnv, multiNodeOrSkip, numaBalancing, stopped, testCgroup } from './helpers';
import { node, observation, thread } from './observations';

const MiB = 2 ** 20;
const DIST = path.join(__dirname, '..', 'dist', 'index.js');

const kinds = (findings: Finding[]) => findings.map((finding) => finding.kind);
const bytes = (entries: [number, number][]) => new Map(entries.map(([id, mib]) => [id, mib * MiB]));

t.test('memory on a node none of the threads run on: its share, and the migration that brings it back', async (t) => {
  const [finding, ...rest] = adviseOn(observation({ bytesByNode: bytes([[0, 10], [1, 90]]) }));
  t.same(rest, []);
  t.match(finding, {
    kind: 'memory-away-from-threads',
    severity: 'high',
    message: 'pid 1234: 90.0 MiB (90% of its resident memory) is on node 1, where none of its threads run (they run on node 0): move it to node 0',
    evidence: { nodes: [1], bytes: 90 * MiB, share: 0.9, residentBytes: 100 * MiB, threadNodes: [0] },
    fix: { call: 'migrateProcess(1234, [1], [0])', command: 'numaplace migrate 1234 --from 1 --to 0', migrate: { pid: 1234, fromNodes: [1], toNodes: [0] } },
  });
  t.same(kinds(adviseOn(observation({ bytesByNode: bytes([[0, 97], [1, 3]]) }))), [], `under ${AWAY_MIN_SHARE * 100}% away: nothing`);
  t.same(kinds(adviseOn(observation({ bytesByNode: bytes([[0, 0.5], [1, 0.5]]) }))), [], 'under 1 MiB away: nothing');
  const both = adviseOn(observation({ bytesByNode: bytes([[0, 10], [1, 90]]), threads: [thread(1, 0), thread(2, 2)] }));
  t.same(kinds(both), ['threads-spread'], 'threads on both nodes: no memory is away from them, but most of it is far from one');
  const idle = adviseOn(observation({ bytesByNode: bytes([[0, 10], [1, 90]]), threads: [thread(1, 0), { ...thread(2, 2), ticks: 0 }] }));
  t.same(kinds(idle), ['memory-away-from-threads'], 'a thread that never used CPU time does not count');
  const memoryless = [node(0, [0], true, 3), node(1, [1], true, 3), node(2, [2, 3], false, 3)];
  const near = adviseOn(observation({ nodes: memoryless, threads: [thread(1, 2)], bytesByNode: bytes([[0, 50], [1, 50]]) }));
  t.same(kinds(near), [], 'threads on a node without memory are near the memory nearest it (both, at equal distance)');
  const outside = adviseOn(observation({ bytesByNode: bytes([[0, 10], [1, 90]]), threads: [thread(1, 0, [0, 1, 2, 3], [1])] }));
  t.same(kinds(outside), ['cpuset-excludes-node'], 'no migration to a node the cpuset forbids: the cpuset finding says why');
});

t.test('a large share on a node of memory only or of a slower tier', async (t) => {
  const nodes = [node(0, [0], true, 4), node(1, [1], true, 4), node(2, [2, 3], false, 4), node(3, [], true, 4)];
  const [finding, ...rest] = adviseOn(observation({ nodes, bytesByNode: bytes([[0, 40], [3, 60]]) }));
  t.same(rest, [], 'the slow node is not also memory away from the threads');
  t.match(finding, {
    kind: 'memory-on-slow-node',
    severity: 'high',
    evidence: { node: 3, bytes: 60 * MiB, share: 0.6, hasCpu: false, tier: null, threadNodes: [0] },
    fix: { call: 'migrateProcess(1234, [3], [0])' },
  });
  t.match(finding.message, /node 3, a node of memory only/);
  t.same(kinds(adviseOn(observation({ nodes, bytesByNode: bytes([[0, 80], [3, 20]]) }))), [], 'under a quarter: nothing');
  const tiers = [{ id: 4, nodes: [0] }, { id: 5, nodes: [1] }];
  const slower = adviseOn(observation({ tiers, bytesByNode: bytes([[0, 50], [1, 50]]) }));
  t.match(slower, [{ kind: 'memory-on-slow-node', evidence: { node: 1, hasCpu: true, tier: 5 }, message: /a slower memory tier \(5\)/ }]);
});

t.test('threads on several nodes, memory on one: pin them to its CPUs', async (t) => {
  const threads = [thread(1, 0), thread(2, 1), thread(3, 2)];
  const [finding, ...rest] = adviseOn(observation({ threads, bytesByNode: bytes([[0, 95], [1, 5]]) }));
  t.same(rest, []);
  t.match(finding, {
    kind: 'threads-spread',
    severity: 'low',
    message: 'pid 1234: 95% of its memory is on node 0, but 1 of its 3 threads run on node 1 and reach it remotely: run them on node 0',
    evidence: { node: 0, share: 0.95, threads: 3, threadsElsewhere: 1, threadNodes: [0, 1] },
    fix: { call: 'taskset -a -pc 0,1 1234', command: 'taskset -a -pc 0,1 1234', migrate: null },
  });
  t.same(kinds(adviseOn(observation({ threads, bytesByNode: bytes([[0, 60], [1, 40]]) }))), [], 'memory on both nodes: nothing');
});

t.test('a cpuset whose memory nodes exclude the nodes of its CPUs', async (t) => {
  const threads = [thread(1, 0, [0, 1, 2, 3], [0]), thread(2, 1, [0, 1], [0])];
  const [finding] = adviseOn(observation({ threads, cpusetMems: '/sys/fs/cgroup/app/cpuset.mems' }));
  t.match(finding, {
    kind: 'cpuset-excludes-node',
    severity: 'medium',
    evidence: { cpuNodes: [1], memsAllowed: [0], threads: 1 },
    fix: { call: 'echo 0,1 > /sys/fs/cgroup/app/cpuset.mems', migrate: null },
  });
  t.match(adviseOn(observation({ threads })), [{ kind: 'cpuset-excludes-node', fix: { call: 'taskset -a -pc 0,1 1234' } }], 'no cpuset.mems to write: pin to the allowed nodes\' CPUs');
  const all = adviseOn(observation({ threads: [thread(1, 2, [2, 3], [0])] }));
  t.match(all, [{ kind: 'cpuset-excludes-node', severity: 'high' }], 'every thread: high');
});

t.test('NUMA balancing off on a machine of several memory nodes, or on for a process pinned to one', async (t) => {
  const [off] = adviseOn(observation({ numaBalancing: 0 }));
  t.match(off, {
    kind: 'numa-balancing-off',
    severity: 'low',
    evidence: { numaBalancing: 0, memoryNodes: 2, pinnedNode: null },
    fix: { call: 'sysctl -w kernel.numa_balancing=1' },
  });
  t.match(adviseOn(observation({ numaBalancing: 2 })), [{ fix: { call: 'sysctl -w kernel.numa_balancing=3' } }], 'tiering only: normal balancing added to it');
  const pinned = [thread(1, 0, [0, 1]), thread(2, 1, [0, 1])];
  t.same(kinds(adviseOn(observation({ numaBalancing: 0, threads: pinned }))), [], 'pinned to the node all its memory is on: nothing to balance');
  t.same(kinds(adviseOn(observation({ numaBalancing: null }))), [], 'a kernel without NUMA balancing: nothing');
  t.same(kinds(adviseOn(observation({ numaBalancing: 0, nodes: [node(0, [0, 1, 2, 3], true, 1)] }))), [], 'one memory node: nothing');
  const balanced = new Map([[0, 64 * MiB]]);
  const [on] = adviseOn(observation({ threads: pinned, balancedBytesByNode: balanced, commandLine: ['node', 'server.js', "it's"] }));
  t.match(on, {
    kind: 'numa-balancing-pinned',
    evidence: { numaBalancing: 1, pinnedNode: 0, balancedBytes: 64 * MiB },
    fix: { call: "numaplace run --node 0 -- node server.js 'it'\\''s'" },
  });
  t.same(kinds(adviseOn(observation({ threads: pinned, balancedBytesByNode: new Map() }))), [], 'nothing scanned (its memory has a policy of its own): nothing');
});

t.test('the share of remote accesses among NUMA balancing\'s samples, where enough were seen', async (t) => {
  const faults = { byNode: new Map([[0, { private: 300, shared: 100 }], [1, { private: 600, shared: 0 }]]), local: 400, total: 1000, pagesMigrated: 7 };
  const away = bytes([[0, 10], [1, 90]]);
  const findings = adviseOn(observation({ faults, bytesByNode: away }));
  t.match(findings, [
    { kind: 'memory-away-from-threads' },
    {
      kind: 'remote-access',
      severity: 'high',
      message: /^60% of the memory accesses NUMA balancing sampled went to another node \(600 of 1000: pid 1234's recent hinting faults\)$/,
      evidence: { scope: 'process', faults: 1000, localFaults: 400, remoteShare: 0.6 },
      fix: { call: 'migrateProcess(1234, [1], [0])' },
    },
  ]);
  t.same(kinds(adviseOn(observation({ faults: { ...faults, local: 40, total: 100 }, bytesByNode: away }))), ['memory-away-from-threads'], 'too few faults: no ratio');
  const system = adviseOn(observation({ vmstat: { numa_hint_faults: 20_000, numa_hint_faults_local: 5_000 }, bytesByNode: away }));
  t.match(system[1], { kind: 'remote-access', severity: 'low', evidence: { scope: 'system', faults: 20_000, localFaults: 5_000, remoteShare: 0.75 } }, 'no faults of its own shown: the machine\'s');
  t.same(kinds(adviseOn(observation({ faults }))), [], 'memory and threads together: nothing to fix for it');
});

t.test('on this machine and in each guest: placementAdvice reads the process it is given; a single memory node has nothing to say', async (t) => {
  const own = placementAdvice();
  t.ok(Array.isArray(own));
  if (topology().nodes.filter((entry) => entry.hasMemory).length === 1) t.same(own, [], 'one memory node: no finding');
  t.throws(() => placementAdvice({ pid: 1.5 }), { name: 'RangeError', message: /^placementAdvice: .* for `options.pid`/ });
});

/** The bytes per node of a process, from its numa_maps read here. */
function bytesOnNodes(pid: number): Map<number, number> {
  const byNode = new Map<number, number>();
  for (const line of readFileSync(`/proc/${pid}/numa_maps`, 'utf8').split('\n')) {
    const kib = Number(/kernelpagesize_kB=(\d+)/.exec(line)?.[1] ?? 4);
    for (const [, id, pages] of line.matchAll(/ N(\d+)=(\d+)/g)) byNode.set(Number(id), (byNode.get(Number(id)) ?? 0) + Number(pages) * kib * 1024);
  }
  return byNode;
}

/** A Node child on node 0's CPUs holding 32 MiB it has written, its memory preferring node 0, all of it moved there; killed at teardown. */
async function childOnNode0(t: Test): Promise<ChildProcess> {
  const script = 'const b = Buffer.alloc(32 * 2 ** 20, 1); console.log("ready"); setInterval(() => b[0]++, 1000);';
  const child = spawnOnNode(0, process.execPath, ['-e', script], { memory: 'preferred', env: childEnv() });
  t.teardown(() => {
    child.kill('SIGKILL');
  });
  await once(child.stdout, 'data');
  const others = topology().nodes.filter((entry) => entry.hasMemory && entry.id !== 0).map((entry) => entry.id);
  await migrateProcess(child.pid!, others, others.map(() => 0));
  return child;
}

/** Runs a fix's `call` as written, with the numaplace function it names in scope. */
async function runCall(call: string): Promise<void> {
  const run = new Function('migrateProcess', `return ${call};`) as (fn: typeof migrateProcess) => Promise<unknown>;
  await run(migrateProcess);
}

t.test('multi-node: a child on node 0 whose memory was moved to node 1 is named with its share, and running the fix clears it', async (t) => {
  if (!multiNodeOrSkip(t)) return;
  const child = await childOnNode0(t);
  const pid = child.pid!;
  await migrateProcess(pid, [0], [1]);
  await stopped(child);
  const onNodes = bytesOnNodes(pid);
  const resident = [...onNodes.values()].reduce((sum, value) => sum + value, 0);
  const finding = placementAdvice({ pid }).find((entry) => entry.kind === 'memory-away-from-threads');
  t.match(finding, {
    evidence: { nodes: [1], bytes: onNodes.get(1), residentBytes: resident, share: onNodes.get(1)! / resident, threadNodes: [0] },
    fix: { call: `migrateProcess(${pid}, [1], [0])`, command: `numaplace migrate ${pid} --from 1 --to 0` },
  });
  t.ok(onNodes.get(1)! >= 32 * MiB && finding!.severity === 'high', `${onNodes.get(1)} of ${resident} bytes on node 1: high`);
  t.match(finding!.message, new RegExp(`^pid ${pid}: .* \\(\\d+% of its resident memory\\) is on node 1, where none of its threads run \\(they run on node 0\\)`));
  await runCall(finding!.fix.call);
  const after = bytesOnNodes(pid);
  t.ok((after.get(1) ?? 0) < AWAY_MIN_SHARE * resident, `after the fix ${after.get(1) ?? 0} bytes are on node 1 (numa_maps)`);
  t.same(kinds(placementAdvice({ pid })).filter((kind) => kind === 'memory-away-from-threads'), [], 'the finding is gone');
});

t.test('multi-node with a node of memory only: memory there is named, and the fix brings it back', async (t) => {
  if (!multiNodeOrSkip(t)) return;
  const slow = topology().nodes.find((entry) => entry.hasMemory && !entry.hasCpu);
  if (!slow) return void t.plan(0, 'no node of memory only here: the 4node and 3node-hmat guests have one');
  const child = await childOnNode0(t);
  const pid = child.pid!;
  await migrateProcess(pid, [0], [slow.id]);
  await stopped(child);
  const finding = placementAdvice({ pid }).find((entry) => entry.kind === 'memory-on-slow-node');
  t.match(finding, { evidence: { node: slow.id, bytes: bytesOnNodes(pid).get(slow.id), hasCpu: false }, fix: { call: `migrateProcess(${pid}, [${slow.id}], [0])` } });
  await runCall(finding!.fix.call);
  t.same(kinds(placementAdvice({ pid })).filter((kind) => kind === 'memory-on-slow-node'), [], 'the finding is gone');
  t.ok((bytesOnNodes(pid).get(slow.id) ?? 0) < 0.25 * [...bytesOnNodes(pid).values()].reduce((sum, value) => sum + value, 0), 'numa_maps agrees');
});

/** A fix's shell command run as root runs it (sysctl is in /usr/sbin). */
function runCommand(command: string): void {
  execFileSync('sh', ['-c', command], { env: { PATH: `${process.env.PATH}:/usr/sbin:/sbin` }, stdio: 'inherit' });
}

/** A Node child of `script`, waited for until it prints; killed at teardown. */
async function nodeChild(t: Test, start: () => ChildProcess): Promise<ChildProcess> {
  const child = start();
  t.teardown(() => {
    child.kill('SIGKILL');
  });
  await once(child.stdout!, 'data');
  return child;
}

const IDLE = 'console.log("ready"); setInterval(() => {}, 1000);';

t.test('in a guest: a cpuset whose memory nodes exclude its CPUs\' node is named, and writing cpuset.mems as the fix says clears it', async (t) => {
  if (!multiNodeOrSkip(t)) return;
  if (!process.env.NUMAPLACE_VM_TOPOLOGY) return void t.plan(0, 'mounts a cgroup of its own: in the guests only');
  const cgroup = testCgroup(t, ['cpuset']);
  writeFileSync(path.join(cgroup.directory, 'cpuset.cpus'), topology().nodes[0].cpus.join(','));
  writeFileSync(path.join(cgroup.directory, 'cpuset.mems'), '1');
  // Moved into the cgroup (synchronously) before its ready line is awaited.
  const child = spawn(process.execPath, ['-e', IDLE], { env: childEnv(), stdio: ['ignore', 'pipe', 'inherit'] });
  cgroup.enter(child);
  await once(child.stdout!, 'data');
  const memsAllowed = () => /^Mems_allowed_list:\s*(.*)$/m.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1];
  t.equal(memsAllowed(), '1', 'the kernel lets it allocate on node 1 only');
  const finding = placementAdvice({ pid: child.pid }).find((entry) => entry.kind === 'cpuset-excludes-node');
  t.match(finding, {
    severity: 'high',
    evidence: { cpuNodes: [0], memsAllowed: [1] },
    fix: { call: `echo 0,1 > ${cgroup.directory}/cpuset.mems`, migrate: null },
  });
  runCommand(finding!.fix.command);
  t.equal(memsAllowed(), '0-1', 'after the fix it may allocate on node 0 too');
  t.same(kinds(placementAdvice({ pid: child.pid })).filter((kind) => kind === 'cpuset-excludes-node'), [], 'the finding is gone');
});

/** The node of the CPU each thread of `pid` ran on last, read from its stat files. */
function threadNodes(pid: number): number[] {
  const nodeOf = new Map(topology().nodes.flatMap((entry) => entry.cpus.map((cpu) => [cpu, entry.id] as const)));
  return readdirSync(`/proc/${pid}/task`).map((tid) => {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    return nodeOf.get(Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[39 - 3]))!;
  });
}

t.test('multi-node: threads on two nodes, memory on one, are named; pinning them as the fix says clears it', async (t) => {
  if (!multiNodeOrSkip(t)) return;
  const worker = `const n = require(${JSON.stringify(DIST)}); n.pinThread({ node: 1 }); require('node:worker_threads').parentPort.postMessage('pinned'); setInterval(() => {}, 20);`;
  const script = `const memory = Buffer.alloc(64 * 2 ** 20, 1); const { Worker } = require('node:worker_threads');
    new Worker(${JSON.stringify(worker)}, { eval: true }).once('message', () => console.log('ready')); setInterval(() => memory[0]++, 1000);`;
  // Bound to node 0, its memory stays there; its main thread runs there, the worker on node 1.
  const child = await nodeChild(t, () => spawnOnNode(0, process.execPath, ['-e', script], { env: childEnv() }));
  const pid = child.pid!;
  const others = topology().nodes.filter((entry) => entry.hasMemory && entry.id !== 0).map((entry) => entry.id);
  await migrateProcess(pid, others, others.map(() => 0));
  t.ok(threadNodes(pid).includes(1), 'a thread of it ran on node 1 last (stat)');
  const finding = placementAdvice({ pid }).find((entry) => entry.kind === 'threads-spread');
  t.match(finding, { evidence: { node: 0, threadNodes: [0, 1] }, fix: { call: `taskset -a -pc ${topology().nodes[0].cpus.join(',')} ${pid}` } });
  t.ok(finding!.evidence.share >= 0.9 && finding!.evidence.threadsElsewhere >= 1, `${finding!.evidence.threadsElsewhere} of ${finding!.evidence.threads} threads elsewhere`);
  runCommand(finding!.fix.command);
  // The worker wakes every 20 ms: from then on it runs where the fix put it.
  for (let tries = 0; tries < 500 && threadNodes(pid).includes(1); tries++) await new Promise((resolve) => setTimeout(resolve, 20));
  t.same([...new Set(threadNodes(pid))], [0], 'every thread ran on node 0 last');
  t.same(kinds(placementAdvice({ pid })).filter((kind) => kind === 'threads-spread'), [], 'the finding is gone');
});

/** Bytes NUMA balancing scans in a process: its heap, stack and anonymous memory under the default policy, from its numa_maps read here. */
function balancedBytes(pid: number): number {
  let total = 0;
  for (const line of readFileSync(`/proc/${pid}/numa_maps`, 'utf8').split('\n')) {
    const [, policy, mark = ''] = line.split(' ');
    const anonymous = mark === 'heap' || mark === 'stack' || (!/ file=| huge/.test(line) && / anon=/.test(line));
    if (policy !== 'default' || !anonymous) continue;
    const kib = Number(/kernelpagesize_kB=(\d+)/.exec(line)?.[1]);
    for (const [, pages] of line.matchAll(/ N\d+=(\d+)/g)) total += Number(pages) * kib * 1024;
  }
  return total;
}

t.test('in a guest: NUMA balancing off is named on a machine of several nodes and the fix turns it on; then the pinned process is named', async (t) => {
  if (!multiNodeOrSkip(t)) return;
  if (!process.env.NUMAPLACE_VM_TOPOLOGY) return void t.plan(0, 'switches kernel.numa_balancing: in the guests only');
  const original = numaBalancing();
  t.teardown(() => writeFileSync('/proc/sys/kernel/numa_balancing', String(original)));
  writeFileSync('/proc/sys/kernel/numa_balancing', '0');
  const cpus = topology().nodes[0].cpus.join(',');
  const child = await nodeChild(t, () => spawn('taskset', ['-c', cpus, process.execPath, '-e', `const b = Buffer.alloc(16 * 2 ** 20, 1); ${IDLE}`], { env: childEnv() }));
  const pid = child.pid!;
  await migrateProcess(pid, [0], [1]);
  await stopped(child);
  const off = placementAdvice({ pid }).find((entry) => entry.kind === 'numa-balancing-off');
  t.match(off, { evidence: { numaBalancing: 0, pinnedNode: 0 }, fix: { call: 'sysctl -w kernel.numa_balancing=1' } });
  runCommand(off!.fix.command);
  t.equal(numaBalancing(), 1, 'the fix turned it on');
  const after = placementAdvice({ pid });
  t.same(kinds(after).filter((kind) => kind === 'numa-balancing-off'), [], 'the finding is gone');
  const pinned = after.find((entry) => entry.kind === 'numa-balancing-pinned');
  t.match(pinned, { evidence: { numaBalancing: 1, pinnedNode: 0, balancedBytes: balancedBytes(pid) } });
  t.ok(pinned!.evidence.balancedBytes >= 16 * MiB, `${pinned!.evidence.balancedBytes} bytes scanned`);
  t.ok(pinned!.fix.command.startsWith(`numaplace run --node 0 -- ${process.execPath} -e `), pinned!.fix.command);
});
