// Moves between real nodes: runs in the QEMU guests (test/vm/run) and on NUMA hosts.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { Worker } from 'node:worker_threads';
import t from 'tap';
import {
  allocLocal,
  allocOnNode,
  bindBuffer,
  migrateBuffer,
  migrateBufferSync,
  migrateProcess,
  migrateProcessSync,
  movePages,
  PAGE_NOT_PRESENT,
  type MigrationReport,
  pageNodes,
  placement,
  processPlacement,
  setThreadPolicy,
  threadPolicy,
  topology,
} from '../lib/index';
import { checksum, childEnv, filledBuffer, freshMemory, multiNodeOrSkip, nodeAsNobody, numaBalancing, tally } from './helpers';

const MiB = 2 ** 20;
const PAGE = topology().pageSize;

/**
 * Up to 256 MiB (64 MiB under emulation, where each page moves ~20x slower: still
 * 16 chunks), but at most a third of what the given nodes have free.
 */
function largeSize(nodes: number[]): number {
  const free = Math.min(...topology().nodes.filter((node) => nodes.includes(node.id)).map((node) => node.memFree));
  const cap = process.env.NUMAPLACE_VM_TOPOLOGY ? 64 : 256;
  return Math.min(cap, Math.floor(free / 3 / MiB)) * MiB;
}

const movers: Record<string, (view: Buffer, node: number) => Promise<MigrationReport> | MigrationReport> = {
  async: (view, node) => migrateBuffer(view, node, { countMoved: true }),
  sync: (view, node) => migrateBufferSync(view, node, { countMoved: true }),
};

t.test('a large buffer moves to another node and back, sync and async, data intact', async (t) => {
  const nodes = multiNodeOrSkip(t);
  if (!nodes) return;
  const buffer = filledBuffer(largeSize(nodes.slice(0, 2)));
  // Where most pages are: the first page, shared with the allocator's data, may lie elsewhere.
  // Only node ids count: under NUMA balancing some statuses may be PAGE_HIDDEN.
  const counts = Object.entries(tally(pageNodes(buffer))).filter(([node]) => Number(node) >= 0).sort(([, x], [, y]) => y - x);
  const a = Number(counts[0][0]);
  const b = nodes.find((node) => node !== a)!;
  const digest = checksum(buffer);
  const steps = [[b, 'async'], [a, 'sync'], [b, 'sync'], [a, 'async']] as const;
  for (const [step, [node, how]] of steps.entries()) {
    const before = pageNodes(buffer);
    const report = await movers[how](buffer, node);
    const label = `${how} to node ${node}`;
    t.same(report.failed, new Map(), `${label}: nothing failed`);
    t.equal(report.onNode, report.pages, `${label}: every page on the node`);
    t.equal(report.moved! + report.alreadyOnNode!, report.onNode, `${label}: moved or already there`);
    const elsewhere = before.filter((entry) => entry >= 0 && entry !== node).length;
    if (numaBalancing() === 0) {
      t.equal(report.moved, elsewhere, `${label}: moved count matches the query before`);
    } else {
      // NUMA balancing may move a few pages itself between the query above and the migration.
      t.ok(Math.abs(report.moved! - elsewhere) <= report.pages / 100, `${label}: moved ${report.moved}, ~${elsewhere} expected`);
    }
    if (step === 0) t.ok(report.moved! > 0, `${label}: pages really moved (${report.moved})`);
    t.same(tally(pageNodes(buffer)), { [node]: report.pages }, `${label}: every page reads back on node ${node}: ${JSON.stringify(tally(pageNodes(buffer)))}`);
    t.equal(checksum(buffer), digest, `${label}: data unchanged`);
  }
});

t.test('movePages: per-page targets, read back page by page', async (t) => {
  const nodes = multiNodeOrSkip(t);
  if (!nodes) return;
  const buffer = filledBuffer(8 * MiB);
  const digest = checksum(buffer);
  const { byteSpan, pages } = placement(buffer);
  // A transparent huge page (2 MiB) moves as a whole: give each 2 MiB-aligned block one target.
  const hugePageOf = (page: number) => Number((byteSpan.start + BigInt(page * PAGE)) / BigInt(2 * MiB));
  const byHugePage = Int32Array.from({ length: pages }, (_, page) => nodes[hugePageOf(page) % 2]);
  t.same(await movePages(buffer, byHugePage), byHugePage, 'alternating 2 MiB blocks: status matches the targets');
  // The pages of the first and last blocks share their huge page range with other data of the
  // mapping, and khugepaged may collapse that range onto the node where most of it lies.
  const inWholeBlock = (page: number) => hugePageOf(page) > hugePageOf(0) && hugePageOf(page) < hugePageOf(pages - 1);
  const readBack = pageNodes(buffer);
  t.same(readBack.filter((_, page) => inWholeBlock(page)), byHugePage.filter((_, page) => inWholeBlock(page)), 'read back page by page');
  t.ok(readBack.every((node) => nodes.includes(node)), 'pages of the edge blocks on a node with memory');
  t.equal(checksum(buffer), digest);

  // Page by page: exact where no huge page is involved.
  const small = allocLocal(2 * MiB, { hugePages: false });
  small.fill(4);
  const byPage = Int32Array.from({ length: small.length / PAGE }, (_, page) => nodes[page % 2]);
  t.same(await movePages(small, byPage), byPage, 'alternating pages: status matches the targets');
  t.same(pageNodes(small), byPage, 'read back page by page');
  t.ok(small.every((byte) => byte === 4));
});

t.test('a partly written buffer: unwritten pages are counted, prefault moves them all', async (t) => {
  const nodes = multiNodeOrSkip(t);
  if (!nodes) return;
  const buffer = freshMemory(16 * MiB);
  const written = buffer.subarray(0, 8 * MiB);
  written.fill(7);
  const writtenPages = placement(written).pages;
  const target = nodes.find((node) => node !== pageNodes(written)[0])!;
  const report = migrateBufferSync(buffer, target);
  // With transparent huge pages a write may populate the rest of its 2 MiB huge page.
  const hugePagePages = (2 * MiB) / PAGE;
  t.equal(report.onNode + report.notPresent, report.pages, 'every page accounted for');
  t.ok(report.onNode >= writtenPages, `written pages moved (${report.onNode})`);
  t.ok(
    report.notPresent >= report.pages - writtenPages - hugePagePages,
    `never-written pages not present (${report.notPresent} of ${report.pages - writtenPages})`,
  );
  const prefaulted = await migrateBuffer(buffer, target, { prefault: true });
  t.equal(prefaulted.notPresent, 0);
  t.same(tally(pageNodes(buffer)), { [target]: prefaulted.pages }, `every page on node ${target}`);
  t.ok(written.every((byte) => byte === 7) && buffer.subarray(8 * MiB).every((byte) => byte === 0), 'data unchanged');
});

// Each worker owns half of the shared buffer and increments one counter per KiB of it,
// pass after pass, until told to stop; it reports how many passes it completed.
const WRITER = `
const { workerData, parentPort } = require('node:worker_threads');
const { shared, control, first, count } = workerData;
const counters = new Int32Array(shared);
const flags = new Int32Array(control);
let passes = 0;
while (Atomics.load(flags, 0) === 0) {
  for (let index = first; index < first + count; index += 256) counters[index]++;
  if (++passes === 1) parentPort.postMessage('writing');
}
parentPort.postMessage(passes);
`;

t.test('no write is lost while other threads write to a SharedArrayBuffer being migrated', async (t) => {
  const nodes = multiNodeOrSkip(t);
  if (!nodes) return;
  const shared = new SharedArrayBuffer(8 * MiB);
  const control = new SharedArrayBuffer(4);
  const half = shared.byteLength / 4 / 2;
  const writers = [0, 1].map((k) => new Worker(WRITER, { eval: true, workerData: { shared, control, first: k * half, count: half } }));
  const messages = writers.map((worker) => once(worker, 'message'));
  await Promise.all(messages); // both are writing
  const passes = writers.map(async (worker) => (await once(worker, 'message'))[0] as number);
  let migrations = 0;
  for (let round = 0; round < 10; round++) {
    const report = await migrateBuffer(shared, nodes[round % 2]);
    t.equal(report.failed.get('ENOMEM'), undefined, `round ${round}: no ENOMEM`);
    migrations++;
  }
  Atomics.store(new Int32Array(control), 0, 1);
  const completed = await Promise.all(passes);
  await Promise.all(writers.map((worker) => worker.terminate()));
  const counters = new Int32Array(shared);
  completed.forEach((count, k) => {
    let wrong = 0;
    for (let index = k * half; index < (k + 1) * half; index += 256) if (counters[index] !== count) wrong++;
    t.equal(wrong, 0, `writer ${k}: every counter equals its ${count} passes`);
    t.ok(count > 0, `writer ${k} made progress`);
  });
  t.equal(migrations, 10);
  // The span's last page can hold only bytes past the last counter, never written.
  const where = tally(pageNodes(shared));
  const elsewhere = Object.keys(where).filter((entry) => !nodes.includes(Number(entry)) && Number(entry) !== PAGE_NOT_PRESENT);
  t.same(elsewhere, [], `every page on a node: ${JSON.stringify(where)}`);
  t.ok((where[PAGE_NOT_PRESENT] ?? 0) <= 1, 'at most the edge page not present');
});

t.test('memory-less and CPU-less nodes', async (t) => {
  const nodes = multiNodeOrSkip(t);
  if (!nodes) return;
  const all = topology().nodes;
  const memoryLess = all.find((node) => !node.hasMemory);
  const cpuLess = all.find((node) => node.hasMemory && !node.hasCpu);
  if (!memoryLess || !cpuLess) {
    t.not(process.env.NUMAPLACE_VM_TOPOLOGY, '4node', 'the 4node guest has both');
    return;
  }
  // Memory of its own: a heap Buffer shares its edge pages with data the allocator writes later, which
  // then can be copied to the writer's node (the fork of the CLI below made them copy-on-write) or
  // moved there by NUMA balancing (seen on 6.1: {"1":1,"3":512}).
  const buffer = allocLocal(2 * MiB, { hugePages: false });
  buffer.set(filledBuffer(buffer.length));
  // The same answer from every function, whatever the kernel would say for each.
  const noMemory = { name: 'NumaError', code: 'ENODEV', message: new RegExp(`node ${memoryLess.id} has no memory`) };
  t.throws(() => migrateBufferSync(buffer, memoryLess.id), noMemory);
  t.throws(() => setThreadPolicy({ mode: 'preferred', nodes: [memoryLess.id] }), noMemory);
  t.equal(threadPolicy().mode, 'default', 'the thread policy is unchanged');
  t.throws(() => bindBuffer(buffer, { mode: 'preferred', nodes: [memoryLess.id], expandToPages: true }), noMemory);
  t.throws(() => allocOnNode(MiB, memoryLess.id), noMemory);
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { env: childEnv() });
  const cli = spawnSync(process.execPath, [path.join(__dirname, '..', 'dist', 'cli', 'main.js'), 'migrate', String(child.pid), '--from', String(nodes[0]), '--to', String(memoryLess.id)], { encoding: 'utf8', env: childEnv() });
  child.kill();
  t.equal(cli.status, 1);
  t.match(cli.stderr, noMemory.message, 'the CLI says the same');
  const report = await migrateBuffer(buffer, cpuLess.id);
  t.same(report.failed, new Map());
  const where = tally(pageNodes(buffer));
  t.same(where, { [cpuLess.id]: report.pages }, `all pages on CPU-less node ${cpuLess.id}: ${JSON.stringify(where)}`);
});

/** A child process with 96 MiB written on node `big` and 16 MiB on node `small`; resolves once they are. */
async function childOnTwoNodes(big: number, small: number) {
  const script = `
    const { setThreadPolicy } = require(${JSON.stringify(require.resolve('../dist/index.js'))});
    setThreadPolicy({ mode: 'bind', nodes: [${big}] });
    const a = Buffer.alloc(96 * 2 ** 20, 1);
    setThreadPolicy({ mode: 'bind', nodes: [${small}] });
    const b = Buffer.alloc(16 * 2 ** 20, 2);
    setThreadPolicy({ mode: 'default' });
    console.log('ready');
    setInterval(() => a[0] + b[0], 1000);`;
  const child = spawn(process.execPath, ['-e', script], { env: childEnv(), stdio: ['ignore', 'pipe', 'inherit'] });
  await once(child.stdout!, 'data');
  return child;
}

t.test('migrateProcess moves pairs: fromNodes[i] to toNodes[i], a swap included', async (t) => {
  const nodes = multiNodeOrSkip(t);
  if (!nodes) return;
  const [a, b] = nodes;
  const child = await childOnTwoNodes(a, b);
  t.teardown(() => child.kill());
  const onNode = (node: number) => processPlacement(child.pid!).bytesByNode.get(node) ?? 0;
  // The runtime's own memory (tens of MiB) is on either node: the two totals still differ by far more than 8 MiB.
  const before = { a: onNode(a), b: onNode(b) };
  t.ok(before.a >= 96 * MiB && before.b >= 16 * MiB && before.a - before.b > 16 * MiB, `${before.a} bytes on node ${a}, ${before.b} on node ${b}`);
  const near = (bytes: number, expected: number) => Math.abs(bytes - expected) <= 8 * MiB;
  if (nodes.length < 3) {
    // Two memory nodes: no spare node to park pages on while they cross.
    t.throws(() => migrateProcessSync(child.pid!, [a, b], [b, a]), { name: 'NumaError', code: 'EBUSY', message: /form a cycle/ });
    t.ok(near(onNode(a), before.a) && near(onNode(b), before.b), `nothing moved: ${onNode(a)} and ${onNode(b)} bytes`);
    t.equal(process.env.NUMAPLACE_VM_TOPOLOGY === '4node', false, 'the 4node guest has a spare node');
    return;
  }
  const { notMoved } = await migrateProcess(child.pid!, [a, b], [b, a]);
  const after = { a: onNode(a), b: onNode(b) };
  t.ok(notMoved < 100, `${notMoved} pages not moved`);
  t.ok(near(after.b, before.a), `node ${b} now holds what node ${a} held (${after.b} bytes, was ${before.a})`);
  t.ok(near(after.a, before.b), `node ${a} now holds what node ${b} held (${after.a} bytes, was ${before.b})`);
  const spares = nodes.filter((node) => node !== a && node !== b);
  t.same(spares.map(onNode), spares.map(() => 0), 'nothing was left on the spare node');
});

t.test('a node outside the cpuset: EACCES from every function, before any call', async (t) => {
  const nodes = multiNodeOrSkip(t);
  if (!nodes) return;
  if (!process.env.NUMAPLACE_VM_TOPOLOGY) {
    t.plan(0, 'mounts cgroup2 to make a cpuset: runs in the QEMU guests');
    return;
  }
  const [inside, outside] = nodes;
  const root = mkdtempSync(path.join(tmpdir(), 'numaplace-cgroup-'));
  execFileSync('mount', ['-t', 'cgroup2', 'none', root]);
  const group = path.join(root, 'numaplace-test');
  t.teardown(() => {
    rmdirSync(group);
    execFileSync('umount', [root]);
  });
  writeFileSync(path.join(root, 'cgroup.subtree_control'), '+cpuset');
  mkdirSync(group);
  writeFileSync(path.join(group, 'cpuset.mems'), String(inside));
  // The child waits until it is in the cpuset, then tries the node outside it.
  const script = `
    process.stdin.once('data', () => {
      const n = require(${JSON.stringify(require.resolve('../dist/index.js'))});
      const caught = (call) => { try { call(); return 'no error'; } catch (e) { return { name: e.name, code: e.code, syscall: e.syscall, message: e.message }; } };
      console.log(JSON.stringify({
        allowed: n.topology().allowedMems,
        alloc: caught(() => n.allocOnNode(4096, ${outside})),
        bind: caught(() => n.bindBuffer(n.allocLocal(4096), { mode: 'bind', nodes: [${outside}] })),
        policy: caught(() => n.setThreadPolicy({ mode: 'preferred', nodes: [${outside}] })),
        migrate: caught(() => n.migrateBufferSync(Buffer.alloc(8 * 4096, 1), ${outside})),
      }));
      process.exit(0);
    });`;
  const child = spawn(process.execPath, ['-e', script], { env: childEnv(), stdio: ['pipe', 'pipe', 'inherit'] });
  writeFileSync(path.join(group, 'cgroup.procs'), String(child.pid));
  child.stdin!.write('go\n');
  const [output] = await once(child.stdout!, 'data');
  await once(child, 'exit');
  const out = JSON.parse(String(output));
  t.same(out.allowed, [inside], `the child may use node ${inside} only`);
  const refused = { name: 'NumaError', code: 'EACCES', message: new RegExp(`node ${outside} is outside this process's cpuset`) };
  t.match(out.alloc, refused, 'allocOnNode');
  t.match(out.bind, refused, 'bindBuffer');
  t.match(out.policy, refused, 'setThreadPolicy');
  t.match(out.migrate, refused, 'migrateBufferSync');
  t.same([out.alloc, out.bind, out.policy, out.migrate].map((error) => error.syscall), [undefined, undefined, undefined, undefined], 'each refused before its system call');
});

const SCANNER = '/sys/kernel/debug/sched/numa_balancing';

/**
 * Makes the NUMA balancing scanner come back every 100 ms (default: every 1 s,
 * slowing to 60 s), so that it hides pages within the test. Returns what restores the settings, or
 * undefined where they cannot be written (no root, no debugfs).
 */
function scanEagerly(): (() => void) | undefined {
  // Not scan_delay_ms: it also paces how soon a mapping's record of the threads that
  // faulted on it is reset, and since 6.4 the scanner skips mappings without them.
  const settings = { scan_period_min_ms: '100', scan_period_max_ms: '100' };
  const restores: (() => void)[] = [];
  const restore = () => restores.forEach((undo) => undo());
  try {
    for (const [name, value] of Object.entries(settings)) {
      const file = path.join(SCANNER, name);
      const before = readFileSync(file, 'utf8').trim();
      writeFileSync(file, value);
      restores.push(() => writeFileSync(file, before));
    }
    return restore;
  } catch {
    restore();
    return undefined;
  }
}

/**
 * Runs fixtures/hidden-pages.js (as user nobody, or as this test's user): it
 * moves its buffer, and while it then queries, the scanner is eager (with
 * balancing on, where allowed).
 */
async function hiddenPages(asNobody: boolean, balancing: boolean) {
  const fixture = ['test/fixtures/hidden-pages.js'];
  const [command, args, options] = asNobody ? nodeAsNobody(fixture) : [process.execPath, [path.join(__dirname, '..', fixture[0])], { env: childEnv() }];
  const child = spawn(command, args, { ...options, stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  let restore: (() => void) | undefined;
  let result = '';
  try {
    for await (const line of lines) {
      if (line !== 'moved') result = line;
      else {
        if (balancing) restore = scanEagerly();
        child.stdin!.end();
      }
    }
  } finally {
    restore?.();
  }
  return { seen: JSON.parse(result), eager: restore !== undefined };
}

t.test('with NUMA balancing, pages hidden from move_pages are reported truthfully, never moved by a query', async (t) => {
  const nodes = multiNodeOrSkip(t);
  if (!nodes) return;
  const balancing = numaBalancing() === 1;
  const users = process.getuid?.() === 0 ? { 'root (frame numbers visible)': false, nobody: true } : { [`uid ${process.getuid?.()}`]: false };
  for (const [who, asNobody] of Object.entries(users)) {
    const { seen, eager } = await hiddenPages(asNobody, balancing);
    t.same(seen.failed, {}, `${who}: the move failed nowhere`);
    t.equal(seen.untruthful, 0, `${who}: every query: every page present, on node ${seen.target} or hidden`);
    if (!balancing) {
      t.equal(seen.movedHidden + seen.queryHidden, 0, `${who}: balancing off: nothing hidden`);
      continue;
    }
    if (seen.queryHidden > 0) {
      t.pass(`${who}: queries met pages the kernel hid (${seen.queryHidden})`);
      if (who === 'nobody') t.equal(seen.nodeUnknown, seen.queryHidden, `${who}: without frame numbers they are PAGE_HIDDEN`);
      else t.equal(seen.nodeUnknown, 0, `${who}: their nodes read from frame numbers`);
    } else if (seen.hintingFaults >= seen.enoughFaults) {
      // Linux 6.12's move_pages looks through NUMA hinting: hidden pages read as on their node.
      t.pass(`${who}: the scanner hid pages (${seen.hintingFaults} hinting faults) and the kernel's queries read their nodes`);
    } else if (eager) {
      t.fail(`${who}: the scanner, made eager, hid no page within a minute (${seen.hintingFaults} hinting faults)`);
    } else {
      t.comment(`${who}: the scanner hid no page within a minute and its delays cannot be shortened here: hidden pages not checked`);
    }
    t.same(seen.finalNodes.filter((node: number) => node !== seen.target), [], `${who}: queries moved no page`);
  }
});
