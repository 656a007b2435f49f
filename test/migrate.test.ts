import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import t, { type Test } from 'tap';
import { native } from '../lib/binding';
import {
  allocOnNode,
  migrateBuffer,
  migrateBufferSync,
  movePages,
  movePagesSync,
  NumaError,
  PAGE_NOT_PRESENT,
  pageNodes,
  pinThread,
  threadAffinity,
  topology,
} from '../lib/index';
import { absentNode, checksum, filledBuffer, fillPattern, freshMemory, kernelHasPagemapScan, memoryNodeIds, multiNodeOrSkip, numaBalancing, pageHolder, readMapsZeroPage, tally } from './helpers';

const PAGE = topology().pageSize;
const MiB = 2 ** 20;
const sum = (counts: Map<string, number>) => [...counts.values()].reduce((total, count) => total + count, 0);

t.test('migrating to every node with memory keeps the data and reports each page', async (t) => {
  const buffer = filledBuffer(16 * MiB);
  const digest = checksum(buffer);
  const original = threadAffinity();
  t.teardown(() => pinThread(original));
  for (const node of memoryNodeIds()) {
    pinThread(original);
    const before = pageNodes(buffer);
    const report = await migrateBuffer(buffer, node, { countMoved: true });
    // Then on the target's CPUs where it has some: NUMA balancing, when on, has no reason to move the
    // pages away again before the read-back below.
    if (topology().nodes.find((candidate) => candidate.id === node)?.hasCpu) pinThread({ node });
    t.equal(report.node, node);
    t.equal(report.pages, before.length, 'one entry per page of the span');
    t.equal(report.onNode + report.notPresent, report.pages, `node ${node}: every page accounted for; failed: ${JSON.stringify([...report.failed])}`);
    t.equal(report.moved! + report.alreadyOnNode!, report.onNode, 'countMoved: on the node = moved + already there');
    t.same(report.failed, new Map(), 'nothing failed');
    // NUMA balancing may move a page between any two queries.
    const slack = numaBalancing() ? Math.ceil(report.pages / 100) : 0;
    const expected = before.filter((entry) => entry === node).length;
    t.ok(Math.abs(report.alreadyOnNode! - expected) <= slack, `alreadyOnNode ${report.alreadyOnNode} matches the query before (${expected})`);
    const after = tally(pageNodes(buffer));
    t.ok((after[node] ?? 0) >= report.pages - slack, `all pages read back on node ${node}: ${JSON.stringify(after)}`);
    t.equal(checksum(buffer), digest, 'data unchanged');
    t.ok(report.elapsedNs > 0, 'elapsed time measured');
    t.equal(report.status, undefined, 'no status array unless asked');
  }
});

t.test('sync and async give the same result; status on request', async (t) => {
  const nodes = memoryNodeIds();
  const node = nodes[0];
  // Memory with a policy of its own, which NUMA balancing leaves alone: nothing moves between the two calls.
  const buffer = fillPattern(allocOnNode(4 * MiB, nodes.at(-1)!, { hugePages: false }));
  const digest = checksum(buffer);
  const sync = migrateBufferSync(buffer, node, { status: true, countMoved: true });
  const async = await migrateBuffer(buffer, node, { status: true, countMoved: true });
  t.ok(sync.status instanceof Int32Array);
  t.same(async.status, sync.status);
  // Timing, what moved (the second call finds every page in place) and chunks in flight (the sync form runs one) differ.
  const comparable = (report: typeof sync) => ({ ...report, elapsedNs: 0, moved: 0, alreadyOnNode: 0, concurrency: 0 });
  t.same(comparable(async), comparable(sync));
  t.equal(async.alreadyOnNode, async.pages, 'second move: every page already there');
  t.equal(sync.moved! + sync.alreadyOnNode!, sync.pages, 'first move: every page moved or already there');
  t.equal(checksum(buffer), digest);
});

t.test('telling moved pages from pages already there is opt-in (countMoved): one query before the move', async (t) => {
  const nodes = memoryNodeIds();
  const buffer = filledBuffer(64 * PAGE);
  const first = migrateBufferSync(buffer, nodes[0]);
  t.notOk('moved' in first || 'alreadyOnNode' in first, 'by default the report has no split');
  t.equal(first.onNode + first.notPresent + sum(first.failed), first.pages, 'every page accounted for');
  const target = nodes.at(-1)!;
  const before = pageNodes(buffer);
  const counted = migrateBufferSync(buffer, target, { countMoved: true });
  const slack = numaBalancing() ? 1 : 0;
  const elsewhere = before.filter((node) => node >= 0 && node !== target).length;
  t.ok(Math.abs(counted.moved! - elsewhere) <= slack, `moved ${counted.moved}: the pages the query before found elsewhere (${elsewhere})`);
  t.equal(counted.moved! + counted.alreadyOnNode!, counted.onNode, 'moved + already there = on the node');
  t.throws(() => migrateBufferSync(buffer, target, { countMoved: 'yes' as unknown as boolean }), { name: 'TypeError', message: /^migrateBufferSync: .*countMoved/ });
});

/** Huge pages mapping the view's mapping, from /proc/self/smaps (AnonHugePages), for a view that is a mapping of its own. */
function hugePagesOfMapping(view: Uint8Array): number {
  const start = native.spanOf(view).start;
  const lines = readFileSync('/proc/self/smaps', 'utf8').split('\n');
  const header = lines.findIndex((line) => {
    const range = /^([0-9a-f]+)-([0-9a-f]+) /.exec(line);
    return range !== null && BigInt(`0x${range[1]}`) <= start && start < BigInt(`0x${range[2]}`);
  });
  const field = lines.slice(header + 1).find((line) => line.startsWith('AnonHugePages:'))!;
  return (Number(/(\d+) kB/.exec(field)![1]) * 1024) / native.hugePageSize;
}

t.test('huge pages move by one address each; every page reads back on the node with its data', async (t) => {
  if (native.hugePageSize === 0) return t.plan(0, 'no transparent huge pages on this kernel');
  const nodes = memoryNodeIds();
  const hugePage = native.hugePageSize;
  const buffer = allocOnNode(4 * hugePage, nodes[0], { hugePages: true });
  buffer.set(filledBuffer(buffer.length));
  const whole = hugePagesOfMapping(buffer);
  if (whole === 0) return t.plan(0, 'the kernel gave this mapping no huge page (THP defrag or memory)');
  const digest = checksum(buffer);
  const target = nodes.at(-1)!;
  // A view from the middle of the first huge page to the middle of the last: the kernel moves
  // every huge page it touches whole, and the report counts the pages of the span.
  const view = buffer.subarray(hugePage / 2 + 100, buffer.length - hugePage / 2 + 5);
  const report = migrateBufferSync(view, target, { status: true });
  t.equal(report.pages, pageNodes(view).length);
  t.equal(report.onNode, report.pages, `failed: ${JSON.stringify([...report.failed])}`);
  t.same(tally(report.status!), { [target]: report.pages }, 'every page of the span on the target, read back');
  t.same(tally(pageNodes(buffer)), { [target]: buffer.length / PAGE }, 'the whole huge pages moved, the bytes beyond the view too');
  const wholeAfter = hugePagesOfMapping(buffer);
  t.equal(report.hugePages, kernelHasPagemapScan() ? wholeAfter : 0, `huge pages whole after the move (smaps: ${wholeAfter} of ${whole})`);
  const again = await migrateBuffer(buffer, target);
  t.equal(again.onNode, again.pages, 'the Promise form of the whole buffer: every page there');
  t.equal(again.hugePages, kernelHasPagemapScan() ? hugePagesOfMapping(buffer) : 0);
  t.equal(checksum(buffer), digest, 'data intact');
});

t.test('never-written pages are counted as not present unless prefault', async (t) => {
  const node = memoryNodeIds()[0];
  const buffer = freshMemory(16 * MiB);
  const report = migrateBufferSync(buffer, node);
  t.equal(report.notPresent, report.pages, 'all pages not present');
  t.equal(report.onNode, 0);
  const prefaulted = await migrateBuffer(buffer, node, { prefault: true });
  t.equal(prefaulted.notPresent, 0, 'prefault gives every page a page of its own');
  t.equal(prefaulted.onNode, prefaulted.pages);
  t.ok(buffer.every((byte) => byte === 0), 'still all zeros');
});

t.test('pages only read map the zero page: not present in every report, never moved, there or failed', async (t) => {
  const buffer = freshMemory(64 * PAGE);
  let sum = 0;
  for (let page = 0; page < 32; page++) sum += buffer[page * PAGE]; // the zero page, where the kernel has one
  for (let page = 32; page < 48; page++) buffer[page * PAGE] = 1; // pages of its own
  t.equal(sum, 0);
  const zero = readMapsZeroPage();
  t.comment(`a read maps the zero page on this kernel: ${zero}`);
  for (const node of memoryNodeIds()) {
    const report = migrateBufferSync(buffer, node, { status: true });
    const ownPages = zero ? 16 : 48; // without the zero page a read gives the page a page of its own
    t.equal(report.notPresent, report.pages - ownPages, `to node ${node}: untouched pages, and read ones where they map the zero page, are not present`);
    t.equal(report.onNode, ownPages, `to node ${node}: the pages of its own moved or were there`);
    t.same(report.failed, new Map(), `to node ${node}: nothing failed`);
    const readPages = { [zero ? PAGE_NOT_PRESENT : node]: 32 };
    t.same(tally(report.status!.subarray(0, 32)), readPages, `to node ${node}: status of read pages`);
    t.same(tally(pageNodes(buffer).subarray(0, 32)), readPages, `to node ${node}: read back`);
  }
});

t.test('a node that is not online is a coded ENODEV error listing the online nodes', async (t) => {
  const node = absentNode();
  const online = topology().online.join(', ');
  const expected = {
    name: 'NumaError',
    code: 'ENODEV',
    errno: -constants.errno.ENODEV,
    message: new RegExp(`node ${node} is not online \\(ENODEV\\); online nodes: ${online}`),
  };
  const buffer = filledBuffer(PAGE * 4);
  await t.rejects(migrateBuffer(buffer, node), expected);
  t.throws(() => migrateBufferSync(buffer, node), expected);
  t.throws(() => migrateBufferSync(Buffer.alloc(0), node), expected, 'also for an empty view');
  await t.rejects(migrateBuffer(buffer, 100000), { code: 'ENODEV' }, 'beyond MAX_NUMNODES');
  t.throws(() => migrateBufferSync(buffer, node), NumaError);
  const targets = new Int32Array(pageNodes(buffer).length).fill(memoryNodeIds()[0]);
  targets[targets.length - 1] = node;
  t.throws(() => movePagesSync(buffer, targets), { code: 'ENODEV', message: /movePagesSync: node/ });
});

t.test('bad arguments throw TypeError/RangeError naming the argument', async (t) => {
  const buffer = filledBuffer(PAGE);
  for (const node of [-1, 0.5, NaN, Infinity, 2 ** 31]) {
    t.throws(() => migrateBufferSync(buffer, node), { name: 'RangeError', message: /migrateBufferSync: .*`node`/ });
    await t.rejects(migrateBuffer(buffer, node), { name: 'RangeError', message: /migrateBuffer: .*`node`/ });
  }
  for (const node of ['0', null, undefined, 1n]) {
    t.throws(() => migrateBufferSync(buffer, node as unknown as number), { name: 'TypeError', message: /`node`/ });
  }
  t.throws(() => migrateBufferSync('buffer' as unknown as Buffer, 0), { name: 'TypeError', message: /`view`/ });
  t.throws(() => migrateBufferSync(buffer, 0, { moveAll: 'yes' as unknown as boolean }), {
    name: 'TypeError',
    message: /options\.moveAll/,
  });
  const detached = new ArrayBuffer(PAGE);
  structuredClone(detached, { transfer: [detached] });
  await t.rejects(migrateBuffer(detached, 0), { name: 'TypeError', message: /detached/ });
  t.throws(() => movePagesSync(buffer, [0] as unknown as Int32Array), { name: 'TypeError', message: /`targets`/ });
  t.throws(() => movePagesSync(buffer, new Int32Array(50)), { name: 'RangeError', message: /movePagesSync: expected `targets` to hold one node id per page/ });
  await t.rejects(migrateBuffer(buffer, 0, { retries: -1 }), { name: 'RangeError', message: /^migrateBuffer: expected an integer from 0 to 1000 for `options\.retries`/ });
  t.throws(() => migrateBufferSync(buffer, 0, { retryDelayMs: 1.5 }), { name: 'RangeError', message: /^migrateBufferSync: expected an integer from 0 to 60000 for `options\.retryDelayMs`/ });
  const targets = new Int32Array(pageNodes(buffer).length);
  t.throws(() => movePagesSync(buffer, targets, { retries: '2' as unknown as number }), { name: 'TypeError', message: /movePagesSync: .*options\.retries/ });
  t.throws(() => migrateBufferSync(buffer, 0, { retires: 2 } as object), { name: 'TypeError', message: /did you mean `retries`/ });
});

t.test('movePages returns where each page is', async (t) => {
  const node = memoryNodeIds()[0];
  const buffer = filledBuffer(64 * PAGE);
  const digest = checksum(buffer);
  const targets = new Int32Array(pageNodes(buffer).length).fill(node);
  t.same(await movePages(buffer, targets), targets, 'async: status equals targets');
  t.same(movePagesSync(buffer, targets), targets, 'sync: status equals targets');
  // NUMA balancing may move a page in between (the first or last, shared with the allocator's data).
  const misplaced = pageNodes(buffer).filter((where, page) => where !== targets[page]).length;
  t.ok(misplaced <= (numaBalancing() ? 1 : 0), `read back: ${misplaced} page(s) elsewhere`);
  t.equal(checksum(buffer), digest);
  t.same(movePagesSync(new Uint8Array(0), new Int32Array(0)), new Int32Array(0), 'empty view, empty status');
});

t.test('100 concurrent migrations all resolve with the data intact', async (t) => {
  const node = memoryNodeIds().at(-1)!;
  const buffers = Array.from({ length: 100 }, (_, index) => filledBuffer(256 * 1024, index));
  const digests = buffers.map(checksum);
  const reports = await Promise.all(buffers.map((buffer) => migrateBuffer(buffer, node)));
  reports.forEach((report, index) => {
    t.equal(report.onNode + report.notPresent, report.pages, `migration ${index} accounted; failed: ${JSON.stringify([...report.failed])}`);
  });
  // Placement first: reading the data lets NUMA balancing (when on) move pages toward this CPU.
  const where = tally(Int32Array.from(buffers.flatMap((buffer) => [...pageNodes(buffer)])));
  const total = reports.reduce((sum, report) => sum + report.pages, 0);
  if (numaBalancing() === 0) t.same(where, { [node]: total }, `all on node ${node}`);
  else {
    // NUMA balancing moves pages after the migration as it likes: each report above is exact,
    // and this only checks that every page is somewhere (exactness is the balancing-off pass).
    const nodes = new Set(memoryNodeIds());
    t.ok(Object.keys(where).every((entry) => nodes.has(Number(entry))), `every page on a node with memory: ${JSON.stringify(where)}`);
  }
  t.same(buffers.map(checksum), digests, 'every buffer intact');
});

t.test('the async path keeps the memory alive when the caller drops it', async (t) => {
  const node = memoryNodeIds()[0];
  const pending = Array.from({ length: 20 }, () => migrateBuffer(filledBuffer(2 * MiB).buffer, node));
  (globalThis as { gc?: () => void }).gc?.();
  const reports = await Promise.all(pending);
  // Memory freed under a move would show as pages the kernel cannot find (EFAULT, ENOENT). With NUMA
  // balancing on, a page busy at that moment or moved back at once is an honest EBUSY or NOT_MOVED.
  const allowed = numaBalancing() ? ['EBUSY', 'NOT_MOVED'] : [];
  const failures = reports.flatMap((report) => [...report.failed.keys()]).filter((code) => !allowed.includes(code));
  t.same(failures, [], `every migration completed: ${JSON.stringify(reports.map((report) => [report.pages, [...report.failed]]))}`);
  t.ok(reports.every((report) => report.pages > 0 && report.onNode + report.notPresent + sum(report.failed) === report.pages));
});

/** Eight small pages written on the first of two nodes, page 3 held by a pipe until test `t` ends; undefined (the test skipped) on one node. */
function heldPageBuffer(t: Test): { a: number; b: number; buffer: Buffer } | undefined {
  const nodes = multiNodeOrSkip(t);
  if (!nodes) return undefined;
  const [a, b] = nodes;
  const buffer = allocOnNode(8 * PAGE, a, { hugePages: false }).fill(1);
  const holder = pageHolder();
  t.teardown(() => holder.release());
  t.equal(holder.holdPages(buffer.subarray(3 * PAGE, 4 * PAGE)), PAGE, 'a pipe holds page 3');
  return { a, b, buffer };
}

t.test('a page a pipe holds: reported failed with its index, the others moved, retried only as often as asked', async (t) => {
  const held = heldPageBuffer(t);
  if (!held) return;
  const { a, b, buffer } = held;
  const back = new Int32Array(8).fill(a);
  const cases = [
    ['sync, default retries', {}, 2],
    ['sync, retries: 0', { retries: 0 }, 1],
    ['async, retries: 3 with a pause', { retries: 3, retryDelayMs: 1 }, 4],
    ['async, default retries', {}, 2],
  ] as const;
  for (const [name, options, calls] of cases) {
    t.same(movePagesSync(buffer, back), back, `${name}: every page on node ${a} first`);
    const report = name.startsWith('sync') ? migrateBufferSync(buffer, b, { ...options, status: true }) : await migrateBuffer(buffer, b, { ...options, status: true });
    // The kernel tried it, gave up and stored no status for it: elsewhere with no error code of its own.
    t.same(report.failed, new Map([['NOT_MOVED', 1]]), `${name}: one page failed, NOT_MOVED`);
    t.same(report.failedPages, new Map([['NOT_MOVED', [3]]]), `${name}: and it is page 3`);
    t.equal(report.onNode, 7, `${name}: the seven others on node ${b}`);
    const after = pageNodes(buffer);
    t.same([...after], [b, b, b, a, b, b, b, b], `${name}: read back: page 3 still on node ${a}`);
    t.equal(report.status![3], a, `${name}: its status says where it is`);
    // Pages NUMA balancing hid meanwhile are moved again at once, up to 4 times a chunk, at no cost to the retries.
    if (report.hidden === 0) t.equal(report.calls, calls, `${name}: ${calls} move_pages call(s)`);
    else t.ok(report.calls >= calls && report.calls <= calls + 4, `${name}: ${report.calls} calls, ${report.hidden} pages hidden by NUMA balancing`);
  }
});

t.test('a held page, then a page already there: the pages after it, which the kernel never tried, move at no cost to the retries', async (t) => {
  const held = heldPageBuffer(t);
  if (!held) return;
  const { a, b, buffer } = held;
  // Page 5 on the target already: the kernel answers it at once and ends a batch there, so when
  // the batch holding page 3 fails, it stops before pages 6 and 7.
  const layout = Int32Array.of(a, a, a, a, a, b, a, a);
  t.same(movePagesSync(buffer, layout), layout, 'page 5 on the target, the others not');
  const report = migrateBufferSync(buffer, b, { retries: 0, status: true });
  t.same([...pageNodes(buffer)], [b, b, b, a, b, b, b, b], 'read back: every page but the held one moved');
  t.same(report.failedPages, new Map([['NOT_MOVED', [3]]]), 'only the held page failed');
  if (report.hidden === 0) t.equal(report.calls, 2, 'one call, and one for the pages after the failed batch (retries: 0 spent none)');
});
