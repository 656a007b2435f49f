// Input meant to hang, abort or slip through: lists of 2^32 - 1 entries, holes,
// ranges past every bound, misspelt options. Each case runs in a child with a
// time limit, so a hang or an abort fails the case instead of the run.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import t from 'tap';
import { checkedOnHost, childEnv } from './helpers';

const INDEX = path.join(__dirname, '..', 'dist', 'index.js');

/** What `call` (numaplace loaded as `n`) throws, from a child given 20 s: { name, message }, or how the child ended. */
function thrownBy(call: string): { name?: string; message?: string; ended?: string } {
  const script = `
    const n = require(${JSON.stringify(INDEX)});
    Promise.resolve().then(() => ${call}).then(
      () => console.log(JSON.stringify({ name: 'no error' })),
      (e) => console.log(JSON.stringify({ name: e.name, message: e.message })),
    );`;
  const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env: childEnv(), timeout: 20_000 });
  if (child.status !== 0) return { ended: `${child.signal ?? child.status}: ${child.stderr.slice(0, 300)}` };
  return JSON.parse(child.stdout);
}

t.test('a sparse list of 2^32 - 1 entries is refused before any entry is read', async (t) => {
  if (checkedOnHost(t, 'hostile input')) return;
  const huge = 'new Array(2 ** 32 - 1)';
  const cases: [string, RegExp][] = [
    [`n.allocInterleaved(4096, ${huge})`, /^allocInterleaved: expected from 1 to 1024 node ids for `nodes` but received string "an array of 4294967295"/],
    [`n.setThreadPolicy({ mode: 'interleave', nodes: ${huge} })`, /^setThreadPolicy: expected from 1 to 1024 node ids for `spec.nodes`/],
    [`n.migrateProcessSync(0, ${huge}, [0])`, /^migrateProcessSync: expected from 1 to 1024 node ids for `fromNodes`/],
    [`n.pinThread(${huge})`, /^pinThread: expected from 1 to 8192 CPU ids for `target`/],
  ];
  for (const [call, message] of cases) t.match(thrownBy(call), { name: 'RangeError', message }, call);
});

t.test('a hole in a list is an undefined entry named by its index', async (t) => {
  if (checkedOnHost(t, 'hostile input')) return;
  const cases: [string, RegExp][] = [
    ['n.allocInterleaved(4096, [0, , 0])', /^allocInterleaved: expected a non-negative integer node id for `nodes\[1\]` but received undefined/],
    ['n.pinThread([0, , 0])', /^pinThread: expected a non-negative integer CPU id for `target\[1\]` but received undefined/],
    ["n.bindBuffer(n.allocLocal(4096), { mode: 'bind', nodes: [, 0] })", /^bindBuffer: expected a non-negative integer node id for `options.nodes\[0\]`/],
  ];
  for (const [call, message] of cases) t.match(thrownBy(call), { name: 'TypeError', message }, call);
});

t.test('id lists past the kernel limits, reversed or not integers: RangeErrors with the text given', async (t) => {
  if (checkedOnHost(t, 'hostile input')) return;
  const cases: [string, RegExp][] = [
    ["n.parseIdList('0-4294967295')", /^parseIdList: expected a list of ids from 0 to 8191 such as 0-3,8 for `text` but received string "0-4294967295"/],
    ["n.parseIdList('3-1')", /^parseIdList: .*\(the range 3-1 runs backwards\) for `text` but received string "3-1"/],
    ["n.parseIdList('1,x')", /^parseIdList: .* but received string "1,x"/],
    ['n.migrateBufferSync(Buffer.alloc(8), 1.5)', /^migrateBufferSync: expected a non-negative integer node id for `node` but received number 1.5/],
  ];
  for (const [call, message] of cases) t.match(thrownBy(call), { name: 'RangeError', message }, call);
});

t.test('a misspelt option is a TypeError naming it and the nearest valid key, in every function that takes options', async (t) => {
  if (checkedOnHost(t, 'hostile input')) return;
  const cases: [string, string, string][] = [
    ['n.migrateBuffer(Buffer.alloc(8, 1), 0, { concurency: 2 })', 'concurency', 'concurrency'],
    ['n.migrateBufferSync(Buffer.alloc(8, 1), 0, { countmoved: true })', 'countmoved', 'countMoved'],
    ['n.movePagesSync(Buffer.alloc(8, 1), new Int32Array(1), { moveall: true })', 'moveall', 'moveAll'],
    ['n.pageNodes(Buffer.alloc(8), { prefualt: true })', 'prefualt', 'prefault'],
    ['n.placement(Buffer.alloc(8), { prefaults: true })', 'prefaults', 'prefault'],
    ['n.placementMap(Buffer.alloc(8), { widht: 8 })', 'widht', 'width'],
    ['n.formatPlacementMap(new Int32Array(1), { legnd: false })', 'legnd', 'legend'],
    ["n.bindBuffer(n.allocLocal(4096), { mode: 'local', expandToPage: true })", 'expandToPage', 'expandToPages'],
    ["n.setThreadPolicy({ mode: 'default', numaBalance: true })", 'numaBalance', 'numaBalancing'],
    ['n.setHomeNode(n.allocLocal(4096), 0, { expand: true })', 'expand', 'expandToPages'],
    ['n.allocOnNode(4096, 0, { hugepages: true })', 'hugepages', 'hugePages'],
    ['n.allocLocal(4096, { arraybuffer: true })', 'arraybuffer', 'arrayBuffer'],
    ['n.bestNode({ near: { node: 0 }, minFree: 1 })', 'minFree', 'minFreeBytes'],
    ["n.spawnOnNode(0, 'true', [], { memroy: 'bind' })", 'memroy', 'memory'],
    ["n.forkOnNode(0, 'x.js', [], { memory: 'bind', sillent: true })", 'sillent', 'silent'],
    ['n.clusterForkOnNode(0, {}, { memmory: "bind" })', 'memmory', 'memory'],
    ['n.numaStat({ cgroups: true })', 'cgroups', 'cgroup'],
    ['n.placementAdvice({ pdi: 0 })', 'pdi', 'pid'],
  ];
  for (const [call, key, nearest] of cases) {
    const message = new RegExp(`: unknown option \`(options|spec)\\.${key}\` \\(did you mean \`${nearest}\`\\?\\)`);
    t.match(thrownBy(call), { name: 'TypeError', message }, call);
  }
});
