// Machines whose sysfs says odd things: a node directory that is empty or
// lacks a file, distances that are not numbers, lists out of any bound, a node
// listed online without a directory. Each case runs a child in a mount
// namespace of its own (root only) where a made-up /sys/devices/system/node
// hides the real one: every call must end in a NumaError that names the
// function and the file, or in the documented fallback — never a raw fs
// error, a stack trace or a V8 abort.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { checkedOnHost, childEnv, oneNodeMachine as machine } from './helpers';

const ROOT = path.join(__dirname, '..');

/** Runs `script` (node -e, numaplace loaded as `n`) where /sys/devices/system/node holds `files`. */
function inMachine(t: Test, files: Record<string, string>, script: string) {
  const fake = mkdtempSync(path.join(tmpdir(), 'numaplace-sysfs-'));
  t.teardown(() => rmSync(fake, { recursive: true, force: true }));
  mkdirSync(path.join(fake, 'node0'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(fake, name)), { recursive: true });
    writeFileSync(path.join(fake, name), text);
  }
  const shell = `mount --bind "${fake}" /sys/devices/system/node && exec "${process.execPath}" -e "$SCRIPT"`;
  const prelude = `const n = require(${JSON.stringify(path.join(ROOT, 'dist', 'index.js'))});`;
  const result = spawnSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', shell], {
    encoding: 'utf8',
    env: { ...childEnv(), SCRIPT: `${prelude}\n${script}` },
    timeout: 30_000,
  });
  return { status: result.status, signal: result.signal, stdout: result.stdout, stderr: result.stderr };
}

/** A script that prints what `call` returned, or the error's name, code and message, as JSON. */
function outcomeOf(call: string): string {
  return `
    let out;
    try { out = { value: ${call} }; } catch (e) { out = { name: e.name, code: e.code, syscall: e.syscall, message: e.message }; }
    console.log(JSON.stringify(out));`;
}

t.test('sysfs files missing or malformed: NumaErrors naming the function and the file', async (t) => {
  if (checkedOnHost(t, 'sysfs oddities')) return;
  if (process.getuid?.() !== 0) {
    t.plan(0, 'needs root for a mount namespace');
    return;
  }
  const node0 = '/sys/devices/system/node/node0';
  const cases: [string, Record<string, string | null>, RegExp][] = [
    ['an empty node directory', { 'node0/cpulist': null, 'node0/distance': null, 'node0/meminfo': null }, new RegExp(`^topology: open failed for ${node0}/meminfo: ENOENT`)],
    ['a node without cpulist', { 'node0/cpulist': null }, new RegExp(`^topology: open failed for ${node0}/cpulist: ENOENT`)],
    ['garbage distances', { 'node0/distance': 'ten\n' }, new RegExp(`^topology: ${node0}/distance holds "ten", not 1 distances, one per online node \\(EIO\\)`)],
    ['an empty distance file', { 'node0/distance': '' }, new RegExp(`^topology: ${node0}/distance holds "", not 1 distances`)],
    ['no has_memory', { has_memory: null }, /^topology: open failed for \/sys\/devices\/system\/node\/has_memory: ENOENT/],
    ['an online list past any bound', { online: '0-4294967295\n' }, /^topology: \/sys\/devices\/system\/node\/online holds "0-4294967295", not a list of ids below 1024 \(EIO\)/],
    ['a reversed range', { possible: '3-1\n' }, /^topology: \/sys\/devices\/system\/node\/possible holds "3-1", not a list of ids below 1024/],
  ];
  for (const [what, changes, message] of cases) {
    const child = inMachine(t, machine(changes), outcomeOf('n.topology()'));
    t.equal(child.status, 0, `${what}: the process lives (${child.signal ?? child.stderr})`);
    const out = JSON.parse(child.stdout);
    t.match(out, { name: 'NumaError', message }, what);
    t.ok(out.code === 'ENOENT' || out.code === 'EIO', `${what}: ${out.code}`);
  }
});

t.test('a node listed online without a directory is left out; moving to it is ENODEV', async (t) => {
  if (checkedOnHost(t, 'sysfs oddities')) return;
  if (process.getuid?.() !== 0) {
    t.plan(0, 'needs root for a mount namespace');
    return;
  }
  const files = machine({ online: '0-1\n', possible: '0-1\n', 'node0/distance': '10 20\n' });
  const child = inMachine(t, files, `
    const nodes = n.topology().nodes.map((node) => node.id);
    ${outcomeOf('n.migrateBufferSync(Buffer.alloc(4096, 1), 1)').replace('console.log(JSON.stringify(out));', 'console.log(JSON.stringify({ nodes, out }));')}`);
  t.equal(child.status, 0, child.stderr);
  const { nodes, out } = JSON.parse(child.stdout);
  t.same(nodes, [0], 'topology() lists the nodes that have a directory');
  t.match(out, { name: 'NumaError', code: 'ENODEV', message: /^migrateBufferSync: node 1 has no memory \(ENODEV\)/ });
});
