// Weighted interleave: the kernel's weights (set and read back through sysfs,
// restored after each test) and every error path.
// The kernel's weights exist from Linux 6.9: the guests on 6.12 test them, the
// guests on 6.1 their absence; the host's kernel decides nothing here (its own
// sysfs is only ever replaced by a made-up one, in a mount namespace).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { release, tmpdir } from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { allocLocal, bindBuffer, interleaveWeights, setInterleaveWeights, topology } from '../lib/index';
import { absentNode, checkedOnHost, childEnv, memoryNodeIds, oneNodeMachine, runAsNobody } from './helpers';

const ROOT = '/sys/kernel/mm/mempolicy/weighted_interleave';
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
    t.throws(() => setInterleaveWeights(weights as Record<number, number>), { name, message: new RegExp(`^setInterleaveWeights: .*${message.source}`) }, shown);
  }
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
