import { once } from 'node:events';
import t from 'tap';
import { migrateProcess, migrateProcessSync, parseNumaMaps, processPlacement, topology } from '../lib/index';
import { memoryOfMappings } from '../lib/numa-maps';
import { absentNode, childWithMemory, memoryNodeIds, multiNodeOrSkip, runAsNobody } from './helpers';

t.test('parseNumaMaps reads each mapping; the totals count each mapping\'s pages at its own page size', async (t) => {
  const text = [
    '55d0c0a00000 default file=/usr/bin/node mapped=10 N0=10 kernelpagesize_kB=4',
    '55d0c2000000 default heap anon=300 dirty=300 N0=200 N1=100 kernelpagesize_kB=4',
    '7f0000000000 bind:1 anon=512 dirty=512 N1=512 kernelpagesize_kB=4',
    '7ffd00000000 default stack anon=5 dirty=5 N0=5 kernelpagesize_kB=4',
    '7f1000000000 default',
    '7f2000000000 default file=/dev/hugepages/a\\040b huge dirty=3 N0=2 N1=1 kernelpagesize_kB=2048',
    '7f4000000000 bind:1 file=/dev/hugepages1G/c huge dirty=1 N1=1 kernelpagesize_kB=1048576',
    '7fd000000000 bind=balancing:0-1 anon=2 dirty=2 N1=2 kernelpagesize_kB=4',
  ].join('\n');
  const mappings = parseNumaMaps(text);
  t.same(mappings.map((m) => m.kind), ['file', 'heap', 'anon', 'stack', 'other', 'huge', 'huge', 'anon']);
  const spaced = parseNumaMaps(
    '7fe000000000 prefer (many):0-1 anon=512 dirty=512 N0=512 kernelpagesize_kB=4\n' +
      '7fe100000000 weighted interleave=static:0-1 file=/tmp/x mapped=3 N0=2 N1=1 kernelpagesize_kB=4\n',
  );
  t.same(
    spaced.map(({ policy, kind, file, byNode }) => ({ policy, kind, file, byNode })),
    [
      { policy: 'prefer (many):0-1', kind: 'anon', file: undefined, byNode: new Map([[0, 512]]) },
      { policy: 'weighted interleave=static:0-1', kind: 'file', file: '/tmp/x', byNode: new Map([[0, 2], [1, 1]]) },
    ],
    'the two modes with a space in their names',
  );
  t.same(mappings[1].byNode, new Map([[0, 200], [1, 100]]));
  t.equal(mappings[1].pages, 300);
  t.equal(mappings[2].policy, 'bind:1');
  t.equal(mappings[0].file, '/usr/bin/node');
  t.equal(mappings[0].start, 0x55d0c0a00000n);
  t.same([mappings[4].pages, mappings[4].pageSizeKiB, mappings[6].pageSizeKiB], [0, 4, 1048576]);
  t.equal(mappings[5].file, '/dev/hugepages/a\\040b', 'the path as the kernel escapes it');
  t.equal(mappings[7].policy, 'bind=balancing:0-1');
  const totals = memoryOfMappings(text);
  const plain = (map: Map<number, number>) => Object.fromEntries(map);
  t.same(plain(totals.bytesByKind.huge), { 0: 2 * 2 ** 21, 1: 2 ** 21 + 2 ** 30 }, 'hugetlb pages of 2 MiB and 1 GiB count whole');
  t.same(plain(totals.bytesByKind.anon), { 1: 514 * 4096 });
  t.same(plain(totals.bytesByNode), { 0: (10 + 200 + 5) * 4096 + 2 * 2 ** 21, 1: (100 + 514) * 4096 + 2 ** 21 + 2 ** 30 });
  t.same(plain(totals.balancedBytesByNode), { 0: 205 * 4096, 1: 102 * 4096 }, 'NUMA balancing scans heap, stack and anonymous memory under the default policy, or one that lets it in');
  t.equal(totals.mappings, 8);
});

t.test('processPlacement of this process and a child', async (t) => {
  const self = processPlacement(0);
  const node = memoryNodeIds()[0];
  t.ok((self.bytesByNode.get(node) ?? 0) > 0, 'this process has memory on a node');
  t.ok(self.mappings.some((m) => m.kind === 'heap' || m.kind === 'anon'));
  const child = await childWithMemory(t, 32);
  const placement = processPlacement(child.pid!);
  const anonBytes = [...placement.bytesByKind.anon.values(), ...placement.bytesByKind.heap.values()].reduce((a, b) => a + b, 0);
  t.ok(anonBytes >= 32 * 2 ** 20, `the child's 32 MiB are counted (${anonBytes} bytes anon + heap)`);
  child.kill();
  await once(child, 'exit');
  t.throws(() => processPlacement(child.pid!), { name: 'NumaError', code: 'ESRCH', message: new RegExp(`^processPlacement: no such process ${child.pid}`) });
  t.throws(() => processPlacement(-1), RangeError);
});

t.test('migrateProcess(Sync): same node, and the errors the kernel gives', async (t) => {
  const node = memoryNodeIds()[0];
  const child = await childWithMemory(t, 8);
  t.same(migrateProcessSync(child.pid!, [node], [node]), { notMoved: 0 });
  t.same(await migrateProcess(child.pid!, [node], [node]), { notMoved: 0 });
  child.kill();
  await once(child, 'exit');
  const gone = { name: 'NumaError', code: 'ESRCH' };
  t.throws(() => migrateProcessSync(child.pid!, [node], [node]), { ...gone, message: new RegExp(`^migrateProcessSync: no such process ${child.pid}`) });
  await t.rejects(migrateProcess(child.pid!, [node], [node]), { ...gone, message: new RegExp(`^migrateProcess: no such process ${child.pid}`) });
  t.throws(() => migrateProcessSync(0, [], [node]), { name: 'RangeError', message: /fromNodes/ });
  t.throws(() => migrateProcessSync(0, 0 as unknown as number[], [node]), { name: 'TypeError', message: /fromNodes/ });
  t.throws(() => migrateProcessSync(0, [node], ['1' as unknown as number]), { name: 'TypeError', message: /toNodes\[0\]/ });
  await t.rejects(migrateProcess(1.5, [node], [node]), { name: 'RangeError', message: /pid/ });
});

t.test('migrateProcess refuses what migrate_pages cannot do as asked, before any call', async (t) => {
  const node = memoryNodeIds()[0];
  const absent = absentNode();
  t.throws(() => migrateProcessSync(0, [node, node], [node]), { name: 'RangeError', message: /are pairs .* have 2 and 1 nodes/ });
  t.throws(() => migrateProcessSync(0, [node, node], [node, node]), { name: 'RangeError', message: new RegExp(`node ${node} is in \`fromNodes\` twice`) });
  const notOnline = { name: 'NumaError', code: 'ENODEV', message: new RegExp(`node ${absent} is not online`) };
  t.throws(() => migrateProcessSync(0, [absent], [node]), notOnline);
  t.throws(() => migrateProcessSync(0, [node], [absent]), notOnline);
  await t.rejects(migrateProcess(0, [absent], [node]), notOnline);
});

t.test("migrateProcess on another user's process without CAP_SYS_NICE: EPERM, explained", async (t) => {
  if (process.getuid?.() !== 0) {
    t.plan(0, 'needs root to run a child as another user');
    return;
  }
  const node = memoryNodeIds()[0];
  const child = await childWithMemory(t, 8);
  const script = `
    const { migrateProcessSync } = require('./dist');
    try { migrateProcessSync(${child.pid}, [${node}], [${node}]); console.log('{}'); }
    catch (error) { console.log(JSON.stringify({ name: error.name, code: error.code, syscall: error.syscall, message: error.message })); }`;
  const result = JSON.parse(runAsNobody(script));
  t.match(result, { name: 'NumaError', code: 'EPERM', syscall: 'migrate_pages', message: /CAP_SYS_NICE/ });
});

t.test('multi-node: migrateProcess moves a child process between nodes', async (t) => {
  const nodes = multiNodeOrSkip(t);
  if (!nodes) return;
  const child = await childWithMemory(t, 64);
  const onNode = (node: number) => processPlacement(child.pid!).bytesByNode.get(node) ?? 0;
  // The child is not bound: the scheduler may move it while it writes its
  // buffer, so its pages can lie on both nodes. The node holding most of them
  // is the one to move from; everything counted is read back from numa_maps.
  const [from, to] = onNode(nodes[0]) >= onNode(nodes[1]) ? [nodes[0], nodes[1]] : [nodes[1], nodes[0]];
  const before = onNode(from);
  t.ok(before + onNode(to) >= 64 * 2 ** 20, `the child has its 64 MiB on nodes ${from} and ${to}`);
  t.ok(before >= 32 * 2 ** 20, `the child has ${before} bytes on node ${from}`);
  const { notMoved } = await migrateProcess(child.pid!, [from], [to]);
  t.ok(notMoved < 100, `${notMoved} pages not moved`);
  t.ok(onNode(from) < before / 4, `node ${from} now has ${onNode(from)} bytes of the child's ${before}`);
  t.ok(onNode(to) >= before, `node ${to} has what was on node ${from} (numa_maps)`);
  t.ok(migrateProcessSync(child.pid!, [to], [from]).notMoved < 100);
  t.ok(onNode(from) >= before, `migrateProcessSync moved it back to node ${from}`);
  child.kill();
  await once(child, 'exit');
  t.ok(topology().nodes.length >= 2);
});
