// Weighted interleave: the kernel's weights (set and read back through sysfs,
// restored after each test), weights of a buffer's own by both methods (pages
// counted per node, read back from the kernel; the system's weights unchanged),
// weights derived from the HMAT figures QEMU was given, and every error path.
// The kernel's weights exist from Linux 6.9: the guests on 6.12 test them, the
// guests on 6.1 their absence; the host's kernel decides nothing here (its own
// sysfs is only ever replaced by a made-up one, in a mount namespace).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { release, tmpdir } from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import {
  allocLocal,
  allocOnNode,
  allocWeightedInterleaved,
  bindBuffer,
  interleaveCheck,
  interleaveWeights,
  setInterleaveWeights,
  topology,
  weightsFromBandwidth,
} from '../lib/index';
import { apportion, MAX_RUNS, smallestWeights, WEIGHT_TOLERANCE, weightedRuns, type WeightedRun } from '../lib/weights';
import { absentNode, checkedOnHost, childEnv, memoryNodeIds, multiNodeOrSkip, oneNodeMachine, runAsNobody } from './helpers';
import topologies from './vm/topologies.json';

const ROOT = '/sys/kernel/mm/mempolicy/weighted_interleave';
const MiB = 2 ** 20;
const PAGE = topology().pageSize;
const inGuest = process.env.NUMAPLACE_VM_TOPOLOGY !== undefined;

/** The kernel's weights of the nodes with memory as its files say, read without numaplace (`every`: of every node); null where it has none. */
function sysfsWeights(every = false): Record<number, number> | null {
  if (!existsSync(ROOT)) return null;
  const withMemory = memoryNodeIds();
  const nodes = readdirSync(ROOT).flatMap((name) => (/^node\d+$/.test(name) ? [Number(name.slice(4))] : []));
  return Object.fromEntries(nodes.filter((node) => every || withMemory.includes(node)).map((node) => [node, Number(readFileSync(`${ROOT}/node${node}`, 'utf8'))]));
}

/** The system's weights now, put back when `t` ends (written to sysfs directly, auto mode last). */
function keepSystemWeights(t: Test): Record<number, number> | null {
  const saved = sysfsWeights(true);
  const autoFile = ['auto', '__auto_type'].map((name) => `${ROOT}/${name}`).find((file) => existsSync(file));
  const auto = autoFile && readFileSync(autoFile, 'utf8').trim();
  t.teardown(() => {
    for (const [node, weight] of Object.entries(saved ?? {})) writeFileSync(`${ROOT}/node${node}`, String(weight));
    // The kernel refuses auto mode without bandwidth figures (ENODEV), though it starts in it:
    // the weights written back are then the ones it had.
    if (autoFile && auto === 'true' && topology().nodes.some((node) => node.access?.readBandwidthMBps)) writeFileSync(autoFile, 'true');
  });
  return sysfsWeights();
}

t.test('weights are checked: whole numbers from 1 to 255 by node id, in a plain object', async (t) => {
  const memory = allocLocal(4 * PAGE);
  const node = memoryNodeIds()[0];
  const invalid: [unknown, string, RegExp][] = [
    [[3, 1], 'TypeError', /expected an object of weights by node id such as \{ 0: 3, 1: 1 \} for `weights` but received Array/],
    [new Map([[0, 3]]), 'TypeError', /but received Map/],
    [Buffer.from([1, 1]), 'TypeError', /but received Buffer/],
    [null, 'TypeError', /but received null/],
    [{}, 'RangeError', /of 1 to 1024 nodes for `weights`/],
    [{ x: 1 }, 'RangeError', /node ids from 0 to 1023 as its keys for `weights` but received string "x"/],
    [{ '-1': 1 }, 'RangeError', /node ids from 0 to 1023 as its keys .* received string "-1"/],
    [{ 1024: 1 }, 'RangeError', /received string "1024"/],
    [{ [node]: 0 }, 'RangeError', new RegExp(`a whole number from 1 to 255 for \`weights\\[${node}\\]\` but received number 0`)],
    [{ [node]: 256 }, 'RangeError', /from 1 to 255 .* received number 256/],
    [{ [node]: 1.5 }, 'RangeError', /received number 1.5/],
    [{ [node]: '3' }, 'TypeError', /received string "3"/],
  ];
  for (const [weights, name, message] of invalid) {
    const shown = JSON.stringify(weights) ?? String(weights);
    t.throws(() => allocWeightedInterleaved(MiB, weights as Record<number, number>), { name, message: new RegExp(`^allocWeightedInterleaved: .*${message.source}`) }, shown);
    t.throws(() => setInterleaveWeights(weights as Record<number, number>), { name, message: new RegExp(`^setInterleaveWeights: .*${message.source}`) }, shown);
    t.throws(() => interleaveCheck(memory, weights as Record<number, number>), { name, message }, shown);
  }
  const bind = (options: object) => () => bindBuffer(memory, { mode: 'weighted-interleave', nodes: [node], ...options });
  t.throws(bind({ weights: { [node]: 300 } }), { name: 'RangeError', message: /^bindBuffer: .* for `options.weights\[\d+\]` but received number 300/ });
  t.throws(bind({ weights: { [node + 1]: 1 } }), { name: 'RangeError', message: /`options.weights` must give a weight to each of `options.nodes` \(\d+\) and no other node, but names/ });
  t.throws(bind({ weights: { [node]: 1 }, relativeNodes: true }), { name: 'RangeError', message: /cannot follow a cpuset change/ });
  t.throws(bind({ weight: { [node]: 1 } }), { name: 'TypeError', message: /unknown option `options.weight` \(did you mean `weights`\?\)/ });
  t.throws(() => bindBuffer(memory, { mode: 'interleave', nodes: [node], weights: { [node]: 1 } }), {
    name: 'RangeError',
    message: /expected no weights: they are for mode 'weighted-interleave' for `options.weights`/,
  });
  t.throws(() => allocWeightedInterleaved(MiB, { [node]: 1 }, { hugepages: false } as object), { name: 'TypeError', message: /did you mean `hugePages`/ });
  t.throws(() => allocWeightedInterleaved(0, { [node]: 1 }), { name: 'RangeError', message: /`size`/ });
});

t.test("the kernel's weights: read, set and read back through sysfs, restored after", async (t) => {
  if (!inGuest) {
    t.plan(0, "the kernel's own weights are tested in the QEMU guests, where the kernel is known");
    return;
  }
  const nodes = memoryNodeIds();
  if (sysfsWeights() === null) {
    // Linux 6.1: no weighted interleave in the kernel.
    t.equal(interleaveWeights(), null);
    const notSupported = { name: 'NumaError', code: 'ENOTSUP', message: new RegExp(`\\(${release().replace(/[.+]/g, '\\$&')}\\) has no weighted interleave: it needs Linux 6\\.9\\+`) };
    t.throws(() => setInterleaveWeights({ [nodes[0]]: 3 }), notSupported);
    t.throws(() => setInterleaveWeights('auto'), notSupported);
    t.throws(() => bindBuffer(allocLocal(PAGE), { mode: 'weighted-interleave', nodes }), { name: 'NumaError', code: 'ENOTSUP', message: /Linux 6\.9\+/ }, 'the kernel mode');
    return;
  }
  const saved = keepSystemWeights(t)!;
  t.same(interleaveWeights()?.weights, saved, 'the weights sysfs holds');
  const hasAuto = ['auto', '__auto_type'].some((name) => existsSync(`${ROOT}/${name}`));
  t.equal(interleaveWeights()?.auto === null, !hasAuto, 'auto: null without the file');
  const weights = { [nodes[0]]: 3, [nodes[1]]: 1 };
  const set = setInterleaveWeights(weights);
  t.same(sysfsWeights(), { ...saved, ...weights }, 'written to sysfs, the other nodes as they were');
  t.same(set.weights, sysfsWeights(), 'the weights returned are those read back');
  t.throws(() => setInterleaveWeights({ [nodes[0]]: 256 }), { name: 'RangeError' });
  const absent = absentNode();
  t.throws(() => setInterleaveWeights({ [nodes[0]]: 2, [absent]: 2 }), { name: 'NumaError', code: 'ENODEV', message: new RegExp(`node ${absent} is not online \\(ENODEV\\)`) });
  t.same(sysfsWeights(), { ...saved, ...weights }, 'a refused call writes nothing');
  if (!hasAuto) {
    const message = new RegExp(`^setInterleaveWeights: 'auto' weights need Linux 6\\.16\\+ \\(this is ${release().replace(/[.+]/g, '\\$&')}\\) \\(ENOTSUP\\)`);
    t.throws(() => setInterleaveWeights('auto'), { name: 'NumaError', code: 'ENOTSUP', syscall: undefined, message });
  }
  const asNobody = JSON.parse(
    runAsNobody(`
      const n = require('./dist');
      try { n.setInterleaveWeights({ ${nodes[0]}: 2 }); console.log('{}'); }
      catch (e) { console.log(JSON.stringify({ name: e.name, code: e.code, syscall: e.syscall, message: e.message })); }`),
  );
  t.match(asNobody, { name: 'NumaError', code: 'EACCES', message: /^setInterleaveWeights: this process \(uid 65534\) may not write .*node\d+ \(EACCES\); the system's interleave weights are root's to set/ });
  t.equal(asNobody.syscall, undefined, 'refused before any write');
  t.same(sysfsWeights(), { ...saved, ...weights }, 'nobody changed nothing');
});

/** A made-up weighted_interleave directory (and, with `nodeFiles`, node directory) for `script`, in a mount namespace. */
function withSysfs(t: Test, mm: Record<string, string>, script: string, options: { nodeFiles?: Record<string, string>; readOnly?: boolean } = {}) {
  const { nodeFiles, readOnly = false } = options;
  const fake = mkdtempSync(path.join(tmpdir(), 'numaplace-mm-'));
  t.teardown(() => rmSync(fake, { recursive: true, force: true }));
  mkdirSync(path.join(fake, 'mm', 'transparent_hugepage'), { recursive: true });
  const write = (dir: string, files: Record<string, string>) => {
    for (const [name, text] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(fake, dir, name)), { recursive: true });
      writeFileSync(path.join(fake, dir, name), text);
    }
  };
  write('mm/mempolicy/weighted_interleave', mm);
  write('node', nodeFiles ?? {});
  const thp = '/sys/kernel/mm/transparent_hugepage';
  const shell = [
    `if [ -d ${thp} ]; then mount --bind ${thp} "${fake}/mm/transparent_hugepage"; fi`,
    `mount --rbind "${fake}/mm" /sys/kernel/mm`,
    nodeFiles ? `mount --bind "${fake}/node" /sys/devices/system/node` : 'true',
    readOnly ? 'mount -o remount,ro,bind /sys/kernel/mm' : 'true',
    `exec "${process.execPath}" -e "$SCRIPT"`,
  ].join(' && ');
  const prelude = `const n = require(${JSON.stringify(path.join(__dirname, '..', 'dist', 'index.js'))});`;
  const run = `${prelude}\nlet out; try { out = { value: ${script} }; } catch (e) { out = { name: e.name, code: e.code, message: e.message }; }\nconsole.log(JSON.stringify(out));`;
  const child = spawnSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', shell], { encoding: 'utf8', env: { ...childEnv(), SCRIPT: run }, timeout: 30_000 });
  t.equal(child.status, 0, child.stderr);
  return { out: JSON.parse(child.stdout || '{}'), written: (name: string) => readFileSync(path.join(fake, 'mm/mempolicy/weighted_interleave', name), 'utf8') };
}

t.test('made-up sysfs: the auto file by either name, its values, writes, malformed files, read-only sysfs', async (t) => {
  if (checkedOnHost(t, 'weights in a made-up sysfs')) return;
  if (process.getuid?.() !== 0) {
    t.plan(0, 'needs root for a mount namespace');
    return;
  }
  const node = memoryNodeIds()[0];
  const weightsOf = { [`node${node}`]: '2\n', node1023: '1\n' };
  const auto616 = withSysfs(t, { ...weightsOf, auto: 'true\n' }, 'n.interleaveWeights()').out.value;
  t.same(auto616, { weights: { [node]: 2 }, auto: true }, 'Linux 6.16: auto; node 1023, without memory, left out');
  t.same(withSysfs(t, { ...weightsOf, __auto_type: 'false\n' }, 'n.interleaveWeights()').out.value.auto, false, '6.18 builds: __auto_type');
  t.same(withSysfs(t, weightsOf, 'n.interleaveWeights()').out.value.auto, null, '6.9 to 6.15: no auto file');
  t.match(withSysfs(t, { [`node${node}`]: 'abc\n' }, 'n.interleaveWeights()').out, {
    name: 'NumaError',
    code: 'EIO',
    message: new RegExp(`^interleaveWeights: ${ROOT}/node${node} holds "abc", not a weight from 1 to 255 \\(EIO\\)`),
  });
  const set = withSysfs(t, { ...weightsOf, auto: 'true\n' }, `n.setInterleaveWeights({ ${node}: 7 })`);
  t.equal(set.written(`node${node}`), '7', 'the weight written to its node file');
  t.same(set.out.value.weights[node], 7, 'and read back');
  const noBandwidth = withSysfs(t, { ...weightsOf, auto: 'false\n' }, "n.setInterleaveWeights('auto')");
  t.match(noBandwidth.out, { name: 'NumaError', code: 'ENODEV', message: /^setInterleaveWeights: the firmware gives no memory bandwidth \(ACPI HMAT\)/ });
  t.equal(noBandwidth.written('auto'), 'false\n', 'nothing written');
  const hmatNode = oneNodeMachine({ 'node0/access0/initiators/node0': '', 'node0/access0/initiators/read_bandwidth': '20000\n' });
  const auto = withSysfs(t, { node0: '2\n', auto: 'false\n' }, "n.setInterleaveWeights('auto')", { nodeFiles: hmatNode });
  t.equal(auto.written('auto'), 'true', "'auto': true written to the auto file");
  const readOnly = withSysfs(t, weightsOf, `n.setInterleaveWeights({ ${node}: 3 })`, { readOnly: true });
  t.match(readOnly.out, { name: 'NumaError', code: 'EROFS', message: /read-only sysfs/ });
});

t.test('a node that is not online: ENODEV before any system call', async (t) => {
  const absent = absentNode();
  const memory = allocLocal(4 * PAGE);
  const message = new RegExp(`node ${absent} is not online \\(ENODEV\\)`);
  t.throws(() => allocWeightedInterleaved(MiB, { [absent]: 1 }), { name: 'NumaError', code: 'ENODEV', syscall: undefined, message });
  t.throws(() => bindBuffer(memory, { mode: 'weighted-interleave', nodes: [absent], weights: { [absent]: 2 } }), { name: 'NumaError', code: 'ENODEV', message });
  t.throws(() => weightsFromBandwidth({ near: { node: 0 }, nodes: [absent] }), { name: 'NumaError', code: 'ENODEV', message });
  t.throws(() => weightsFromBandwidth({ near: { node: absent } }), { name: 'NumaError', code: 'ENODEV', message });
});

/** Pages per node of a span tiled by runs. */
function pagesByNode(runs: WeightedRun[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const run of runs) counts[run.node] = (counts[run.node] ?? 0) + run.pages;
  return counts;
}

t.test('apportion: whole shares that add up, each within one of its exact share', async (t) => {
  t.same(apportion(16384, [3, 1]), [12288, 4096]);
  t.same(apportion(32, [10, 5, 2]), [19, 9, 4], 'largest remainders first');
  t.same(apportion(1, [1, 1]), [1, 0], 'ties to the first');
  for (const [total, weights] of [[100, [7, 3, 1]], [17, [255, 1]], [0, [2, 1]]] as const) {
    const shares = apportion(total, weights);
    t.equal(shares.reduce((a, b) => a + b, 0), total, `${total} over ${weights}: sums`);
    const sum = weights.reduce((a: number, b: number) => a + b, 0);
    t.ok(shares.every((share, index) => Math.abs(share - (total * weights[index]) / sum) < 1), `${shares}: within one page each`);
  }
});

t.test('weightedRuns: whole huge pages in weighted round robin, within the mapping budget', async (t) => {
  const huge = 512;
  const threeToOne: [number, number][] = [[0, 3], [1, 1]];
  const runs = weightedRuns(16384, threeToOne, huge);
  t.same(pagesByNode(runs), { 0: 12288, 1: 4096 }, '64 MiB at 3:1: 75/25 exactly');
  t.equal(runs.length, 16, 'a run per node per turn of 4 huge pages');
  t.ok(runs.every((run) => run.first % huge === 0 && run.pages % huge === 0), 'every run whole huge pages');
  t.same(runs.slice(0, 2), [{ node: 0, first: 0, pages: 3 * huge }, { node: 1, first: 3 * huge, pages: huge }]);
  const small = weightedRuns(16384, threeToOne, 1);
  t.same(pagesByNode(small), { 0: 12288, 1: 4096 }, 'single pages: 75/25 exactly');
  t.ok(small.length <= MAX_RUNS, `${small.length} runs of single pages, at most ${MAX_RUNS}`);
  t.same([small[0].pages, small[1].pages], [99, 33], 'runs grow to stay within the budget');
  const large = weightedRuns(64 * 2 ** 18, [[0, 10], [1, 5], [2, 2]], 1);
  t.ok(large.length <= MAX_RUNS, `64 GiB of single pages: ${large.length} runs`);
  const odd = weightedRuns(16384 + 100, threeToOne, huge);
  t.same(pagesByNode(odd), { 0: 12288 + 75, 1: 4096 + 25 }, 'the pages after the last whole huge page apportioned page by page');
  t.same(weightedRuns(1000, [[3, 7]], huge), [{ node: 3, first: 0, pages: 1000 }], 'one node: one run');
  for (const layout of [runs, small, large, odd]) {
    t.ok(layout.every((run, index) => run.first === (index === 0 ? 0 : layout[index - 1].first + layout[index - 1].pages)), 'runs tile the span');
    t.ok(layout.every((run, index) => index === 0 || run.node !== layout[index - 1].node), 'no two adjacent runs of one node');
  }
});

t.test('interleaveCheck: pages per node beside what the weights give them', async (t) => {
  const node = memoryNodeIds()[0];
  const other = absentNode();
  const memory = allocOnNode(4 * MiB, node).fill(1);
  const pages = (4 * MiB) / PAGE;
  t.same(interleaveCheck(memory, { [node]: 1 }), { pages, byNode: new Map([[node, { pages, expected: pages }]]), deviation: 0, notPresent: 0, unknown: 0 });
  const check = interleaveCheck(memory, { [node]: 3, [other]: 1 });
  t.same([...check.byNode], [[node, { pages, expected: pages * 0.75 }], [other, { pages: 0, expected: pages * 0.25 }]].sort(([a], [b]) => Number(a) - Number(b)));
  t.equal(check.deviation, 0.25, 'a quarter of the pages away from their weight');
  const fresh = allocLocal(4 * PAGE);
  t.same(interleaveCheck(fresh, { [node]: 1 }), { pages: 0, byNode: new Map([[node, { pages: 0, expected: 0 }]]), deviation: null, notPresent: 4, unknown: 0 }, 'never written: nothing to weigh');
});

/** Node `a`'s share of the present pages of a view placed with weights 3:1, read back from the kernel. */
function threeToOne(t: Test, view: Buffer, a: number, b: number, what: string): void {
  const check = interleaveCheck(view, { [a]: 3, [b]: 1 });
  const share = (check.byNode.get(a)?.pages ?? 0) / check.pages;
  t.equal(check.pages, view.length / PAGE, `${what}: every page present and on a node`);
  t.ok(share >= 0.73 && share <= 0.77, `${what}: ${(100 * share).toFixed(2)} % of the pages on node ${a} (75 ± 2 %): ${JSON.stringify([...check.byNode])}`);
  t.ok(check.deviation !== null && check.deviation <= 0.02, `${what}: interleaveCheck's deviation ${check.deviation}`);
}

t.test('64 MiB with weights 3:1: 75/25 by both methods, the system weights unchanged', async (t) => {
  const nodes = multiNodeOrSkip(t);
  if (!nodes) return;
  const [a, b] = nodes;
  const saved = keepSystemWeights(t);
  // Kernel weights other than 3:1 (6.9+), so that the weights of the buffer's own are laid out in user space.
  if (saved !== null) setInterleaveWeights({ [a]: 1, [b]: 1 });
  const before = sysfsWeights();
  for (const hugePages of [undefined, false]) {
    const { buffer, method, runs } = allocWeightedInterleaved(64 * MiB, { [a]: 3, [b]: 1 }, { hugePages });
    t.same([method, runs <= MAX_RUNS], ['user-space', true], `hugePages ${hugePages}: laid out in user space in ${runs} runs`);
    threeToOne(t, buffer.fill(1), a, b, `user space, hugePages ${hugePages}`);
    t.same(sysfsWeights(), before, 'the system weights unchanged');
  }
  const existing = allocLocal(64 * MiB).fill(2);
  const report = bindBuffer(existing, { mode: 'weighted-interleave', nodes: [a, b], weights: { [a]: 3, [b]: 1 }, move: true });
  t.equal(report.weighted?.method, 'user-space');
  threeToOne(t, existing, a, b, 'bindBuffer with move on written pages');
  t.ok(existing.every((byte) => byte === 2), 'data unchanged');
  if (saved === null) return;
  setInterleaveWeights({ [a]: 3, [b]: 1 });
  const kernel = allocWeightedInterleaved(64 * MiB, { [a]: 3, [b]: 1 });
  t.same([kernel.method, kernel.runs], ['kernel', 1], "weights equal to the kernel's: MPOL_WEIGHTED_INTERLEAVE");
  threeToOne(t, kernel.buffer.fill(1), a, b, 'the kernel method');
  t.same(sysfsWeights(), { ...before, [a]: 3, [b]: 1 }, 'the system weights as set, not changed by the call');
});

t.test('smallestWeights: the smallest whole numbers within 5 % of each share', async (t) => {
  t.same(smallestWeights([20000, 10000, 4000]), [10, 5, 2]);
  t.same(smallestWeights([20000, 4000]), [5, 1]);
  t.same(smallestWeights([1 / 10, 1 / 21]), [2, 1], 'inverse distances 10 and 21');
  t.same(smallestWeights([7, 7, 7]), [1, 1, 1]);
  t.same(smallestWeights([1e6, 1]), [255, 1], 'out of reach within 255: the closest');
  const figures = [1 / 10, 1 / 21, 1 / 28];
  const weights = smallestWeights(figures);
  const share = (values: number[], index: number) => values[index] / values.reduce((a, b) => a + b, 0);
  t.ok(weights.every((_, index) => Math.abs(share(weights, index) / share(figures, index) - 1) <= WEIGHT_TOLERANCE), `${weights} within 5 %`);
});

t.test('weightsFromBandwidth checks its options as bestNode does', async (t) => {
  const cases: [unknown, string, RegExp][] = [
    [undefined, 'TypeError', /^weightsFromBandwidth: expected \{ cpu \}, \{ node \} or \{ device \} for `options.near`/],
    [{ near: { cpu: 0, node: 0 } }, 'RangeError', /exactly one of/],
    [{ near: { node: 0 }, nodes: [] }, 'RangeError', /from 1 to 1024 node ids for `options.nodes`/],
    [{ near: { node: 0 }, node: [0] }, 'TypeError', /unknown option `options.node` \(did you mean `nodes`\?\)/],
  ];
  for (const [options, name, message] of cases) t.throws(() => weightsFromBandwidth(options as { near: { node: number } }), { name, message }, JSON.stringify(options) ?? 'undefined');
  t.throws(() => weightsFromBandwidth({ near: { device: 'ffff:ff:ff.7' } }), { name: 'NumaError', code: 'ENODEV', message: /no PCI device ffff:ff:ff.7/ });
});

t.test('weightsFromBandwidth: the HMAT read bandwidths QEMU was given, else inverse distances', async (t) => {
  const topologyName = process.env.NUMAPLACE_VM_TOPOLOGY;
  if (topologyName !== '3node-hmat' && topologyName !== '2node') {
    t.plan(0, 'runs in the 2node and 3node-hmat QEMU guests');
    return;
  }
  const machine = topology();
  const spec = topologies[topologyName];
  const guestOf = spec.nodes.map((wanted) => machine.nodes.find((node) => node.cpus.join() === wanted.cpus.join())!.id);
  const inverse = (row: number[]) => smallestWeights(row.map((distance) => 1 / distance));
  const record = (ids: number[], values: number[]) => Object.fromEntries(ids.map((id, index) => [id, values[index]]));
  const everyNode = weightsFromBandwidth({ near: { node: guestOf[0] }, nodes: guestOf });
  if (topologyName === '2node') {
    t.same(everyNode, { weights: record(guestOf, [2, 1]), basis: 'distance', figures: record(guestOf, spec.distances[0]) }, 'no HMAT: 1/10 : 1/21 is 2:1');
    t.same(weightsFromBandwidth({ near: { node: guestOf[0] } }), everyNode, 'by default every memory node');
    return;
  }
  const { bandwidthMBps } = topologies['3node-hmat'].hmat;
  const [zero, , slow] = guestOf;
  const fromCpu = weightsFromBandwidth({ near: { cpu: spec.nodes[0].cpus[0] } });
  t.same(fromCpu.figures, { [zero]: bandwidthMBps[0][0], [slow]: bandwidthMBps[0][2] }, 'the read bandwidths QEMU gave from CPU node 0, for the nodes HMAT covers from it');
  t.same(fromCpu.basis, 'hmat');
  t.equal(fromCpu.weights[zero] / fromCpu.weights[slow], bandwidthMBps[0][0] / bandwidthMBps[0][2], `weights ${JSON.stringify(fromCpu.weights)}: the bandwidths' ratio`);
  t.same(fromCpu.weights, { [zero]: 5, [slow]: 1 });
  const byDistance = { weights: record(guestOf, inverse(spec.distances[0])), basis: 'distance', figures: record(guestOf, spec.distances[0]) };
  t.same(everyNode, byDistance, 'node 1 has no figure from node 0: distances for all');
  t.same(everyNode.weights, record(guestOf, [8, 4, 3]));
});
