// Gentle moves (maxCallMs, bytesPerSecond) and what a migration says of the
// pages it could not put on its target (elsewhere): each read back from the kernel.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import t, { type Test } from 'tap';
import { native } from '../lib/binding';
import {
  allocOnNode,
  migrateBuffer,
  migrateBufferSync,
  MigrationAbortedError,
  migrateProcess,
  migrateProcessSync,
  pageNodes,
  processPlacement,
  type Progress,
  spawnOnNode,
  topology,
} from '../lib/index';
import { awayFrom, checksum, childEnv, collectGarbage, fillNearly, filledBuffer, fillPattern, kernelHasPagemapScan, memoryNodeIds, multiNodeOrSkip, nodeMeminfo, sparseMappingChild, stopped, tally, testCgroup } from './helpers';

const PAGE = topology().pageSize;
const MiB = 2 ** 20;
const HUGE_PAGE_PAGES = Math.max(1, native.hugePageSize / PAGE);

t.test('the budget options are checked before any system call', async (t) => {
  const buffer = filledBuffer(64 * PAGE);
  const node = memoryNodeIds()[0];
  t.throws(() => migrateBufferSync(buffer, node, { maxCallMs: 0 }), { name: 'RangeError', message: /^migrateBufferSync: expected a positive number for `options.maxCallMs` but received number 0/ });
  t.throws(() => migrateBufferSync(buffer, node, { bytesPerSecond: Infinity }), { name: 'RangeError', message: /options\.bytesPerSecond/ });
  t.throws(() => migrateBufferSync(buffer, node, { bytesPerSecond: '1' as unknown as number }), { name: 'TypeError', message: /options\.bytesPerSecond/ });
  t.throws(() => migrateBufferSync(buffer, node, { maxCallMs: 5, chunkPages: 512 }), { name: 'RangeError', message: /chunkPages` does not go with bytesPerSecond or maxCallMs/ });
  await t.rejects(migrateBuffer(buffer, node, { maxCallMs: 5, concurrency: 2 }), { name: 'RangeError', message: /^migrateBuffer: a migration with bytesPerSecond or maxCallMs makes one move_pages call at a time/ });
  t.throws(() => migrateBufferSync(buffer, node, { maxCalMs: 5 } as never), { name: 'TypeError', message: /did you mean `maxCallMs`/ });
  const report = await migrateBuffer(buffer, node, { maxCallMs: 5, concurrency: 1 });
  t.equal(report.concurrency, 1);
});

t.test('a paced migration covers the span call by call: progress, status and counts as an unpaced one gives', async (t) => {
  const nodes = memoryNodeIds();
  const node = nodes[0];
  // Memory with a policy of its own, which NUMA balancing leaves alone: the paced and the plain call see the same pages.
  const buffer = fillPattern(allocOnNode(8 * MiB, nodes.at(-1)!, { hugePages: false }));
  const view = buffer.subarray(100, buffer.length - 100);
  for (const [name, run] of Object.entries({
    sync: (onProgress: (progress: Progress) => void) => migrateBufferSync(view, node, { maxCallMs: 1, status: true, onProgress }),
    async: (onProgress: (progress: Progress) => void) => migrateBuffer(view, node, { maxCallMs: 1, status: true, onProgress }),
  })) {
    const seen: Progress[] = [];
    const report = await run((progress) => seen.push(progress));
    const plain = migrateBufferSync(view, node, { status: true, countMoved: true });
    t.equal(report.pages, plain.pages, `${name}: the whole span`);
    t.same(report.status, plain.status, `${name}: the same statuses, page by page`);
    t.equal(report.onNode + report.notPresent, report.pages, `${name}: every page accounted for`);
    t.ok(report.chunks > 1 && seen.length === report.chunks, `${name}: ${report.chunks} calls, a progress call after each`);
    t.equal(seen.at(-1)!.done, report.pages, `${name}: the last progress call says every page is done`);
    t.equal(report.callMs.length, report.calls, `${name}: every move_pages call timed`);
    t.equal(report.longestCallMs, Math.max(...report.callMs), `${name}: the longest of them`);
    t.equal(typeof report.moved, 'number', `${name}: the pages moved are counted`);
  }
  const empty = migrateBufferSync(new Uint8Array(0), node, { maxCallMs: 1 });
  t.same([empty.pages, empty.calls, empty.longestCallMs, empty.bytesPerSecond], [0, 0, 0, 0], 'an empty view: no call');
});

t.test('a paced migration stops between calls when its signal aborts', async (t) => {
  const node = memoryNodeIds()[0];
  const buffer = filledBuffer(16 * MiB);
  const controller = new AbortController();
  const migration = migrateBuffer(buffer, node, {
    maxCallMs: 1,
    signal: controller.signal,
    onProgress: ({ done }) => {
      if (done > 0) controller.abort();
    },
  });
  const error = await migration.catch((caught: unknown) => caught);
  t.ok(error instanceof MigrationAbortedError, 'aborted');
  const { report, totalPages } = error as MigrationAbortedError;
  t.ok(report.pages > 0 && report.pages < totalPages, `stopped after ${report.pages} of ${totalPages} pages`);
  t.equal(report.chunks, 1, 'after the first call');
});

/** A buffer of `bytes` written on node `from`, of small pages or huge ones, written in place: no garbage left to collect during a move. */
function bufferOn(from: number, bytes: number, hugePages: boolean): Buffer {
  return fillPattern(allocOnNode(bytes, from, { hugePages }));
}

/**
 * Times what a move_pages call that moves one page (of `view`'s kind: a small
 * page or a huge one) costs in this process, each time it is called, between
 * nodes `a` and `b`; `longest` is the longest so far.
 */
function onePageProbe(view: Uint8Array, a: number, b: number) {
  const probe = { longest: 0, moves: 0, move: () => {} };
  probe.move = () => {
    const report = migrateBufferSync(view, probe.moves++ % 2 ? a : b, { maxCallMs: 1000 });
    probe.longest = Math.max(probe.longest, report.longestCallMs);
  };
  return probe;
}

t.test('maxCallMs: 5: no move_pages call takes longer than that and the cost of one page', async (t) => {
  const nodes = multiNodeOrSkip(t);
  if (!nodes) return;
  const [from, to] = nodes;
  // Small pages: the kernel moves any number of them in a call. A huge page moves whole, so a call takes at least one's time.
  for (const { hugePages, unit } of [
    { hugePages: false, unit: 1 },
    { hugePages: true, unit: HUGE_PAGE_PAGES },
  ]) {
    const kind = hugePages ? 'huge pages' : 'small pages';
    // The bound is the (#23): 5 ms and the cost of one page. Under emulation a call's fixed cost
    // (the kernel disables its per-CPU page batches for the call: an expedited RCU grace period and a
    // drain on every CPU) alone takes several ms now and then, and the emulator stalls when the host or
    // the guest's other vCPU, which shares its host thread, holds it: the cost of one page is what a call
    // moving one page takes meanwhile, measured between the migration's calls, the longest of them. The
    // synchronous form, so that no thread of this process runs beside the calls. Stalls hit single calls
    // of any size about once in a hundred (one-page calls alone, 150 of them in the 2node guests: 99th
    // percentile 5.4 to 14.6 ms, longest 6 to 115 ms): one call in a hundred may be over the bound, as
    // long as the calls' median is within 5 ms; a run with more gets two more tries.
    for (let attempt = 1; attempt <= 3; attempt++) {
      const buffer = bufferOn(from, 64 * MiB, hugePages);
      const probe = onePageProbe(bufferOn(from, unit * PAGE, hugePages), from, to);
      const digest = checksum(buffer);
      // What earlier tests left is collected now: unmapping it meanwhile would hold the address space the move reads.
      await collectGarbage();
      const report = migrateBufferSync(buffer, to, { maxCallMs: 5, onProgress: probe.move });
      const onePage = probe.longest;
      const allowed = 5 + Math.max(onePage, unit * report.msPerPage);
      t.equal(tally(pageNodes(buffer))[to], report.pages, `${kind}: every page read back on node ${to}`);
      t.equal(report.moved, report.pages, `${kind}: every page moved`);
      t.ok(report.calls > 2, `${kind}: ${report.calls} calls`);
      t.equal(checksum(buffer), digest, `${kind}: data unchanged`);
      t.comment(`${kind}, attempt ${attempt}: one page ${onePage.toFixed(2)} ms; calls of ${report.callMs.map((ms) => ms.toFixed(2)).join(', ')} ms`);
      const over = report.callMs.filter((ms) => ms > allowed);
      const median = [...report.callMs].sort((a, b) => a - b)[Math.floor(report.calls / 2)];
      const within = over.length <= Math.ceil(report.calls / 100) && median <= 5;
      if (!within && attempt < 3) continue;
      const bound = `${allowed.toFixed(2)} ms (5 ms + one page: ${onePage.toFixed(2)} ms a call, ${report.msPerPage.toFixed(4)} ms in a large one)`;
      t.ok(within, `${kind}: the calls sized to 5 ms (median ${median.toFixed(2)} ms); over ${bound}: ${over.length ? over.map((ms) => ms.toFixed(2)).join(', ') : 'none'}`);
      break;
    }
  }
});

t.test('bytesPerSecond: 64 MiB at 16 MiB/s takes 3.6 to 5 s, and the event loop runs meanwhile', async (t) => {
  const nodes = multiNodeOrSkip(t);
  if (!nodes) return;
  const [from, to] = nodes;
  const buffer = bufferOn(from, 64 * MiB, false);
  let ticks = 0;
  const ticker = setInterval(() => ticks++, 50);
  t.teardown(() => clearInterval(ticker));
  const began = performance.now();
  const report = await migrateBuffer(buffer, to, { bytesPerSecond: 16 * MiB });
  const seconds = (performance.now() - began) / 1000;
  clearInterval(ticker);
  t.equal(report.moved, report.pages, 'every page moved');
  t.equal(tally(pageNodes(buffer))[to], report.pages, `every page read back on node ${to}`);
  // The bounds are the (#23): 64 MiB at 16 MiB/s is 4 s; the last pause ends no sooner.
  t.ok(seconds >= 3.6 && seconds <= 5, `${seconds.toFixed(2)} s`);
  t.ok(report.bytesPerSecond <= 16 * MiB, `achieved ${(report.bytesPerSecond / MiB).toFixed(2)} MiB/s`);
  t.ok(report.pausedMs > 0, `${Math.round(report.pausedMs)} ms paused in ${report.calls} calls`);
  // Ticks every 50 ms over 4 s: 80 if the loop never waited. A tenth of that shows it was not held.
  t.ok(ticks >= 8, `${ticks} timer ticks during the move`);
});

t.test('bytesPerSecond, synchronous: the calling thread sleeps between calls; the rate is kept to the end', async (t) => {
  const nodes = multiNodeOrSkip(t);
  if (!nodes) return;
  const [from, to] = nodes;
  const buffer = bufferOn(from, 8 * MiB, false);
  const began = performance.now();
  const report = migrateBufferSync(buffer, to, { bytesPerSecond: 16 * MiB, maxCallMs: 20 });
  const seconds = (performance.now() - began) / 1000;
  t.equal(report.moved, report.pages, 'every page moved');
  // Not a measure of speed: the last pause ends when the bytes moved are due at the rate, never sooner.
  t.ok(seconds >= (report.moved * PAGE) / (16 * MiB), `${seconds.toFixed(2)} s for ${report.moved} pages`);
  t.ok(report.bytesPerSecond <= 16 * MiB, `achieved ${(report.bytesPerSecond / MiB).toFixed(2)} MiB/s`);
});

t.test('a node too full for the move: the pages left elsewhere are counted by node as read back, never as moved', async (t) => {
  const nodes = multiNodeOrSkip(t);
  if (!nodes) return;
  // The smallest memory node is the target (the 4node guest's CPU-less 256 MiB node), the one with most free memory the source.
  const bySize = topology().nodes.filter((node) => nodes.includes(node.id)).sort((a, b) => a.memTotal - b.memTotal);
  const target = bySize[0].id;
  const source = bySize.filter((node) => node.id !== target).sort((a, b) => nodeMeminfo(b.id).free - nodeMeminfo(a.id).free)[0].id;
  const { bytes, room } = await fillNearly(t, target);
  if (bytes > nodeMeminfo(source).free / 2) {
    t.comment(`node ${target} still has ${room >> 20} MiB to give after the fill, more than node ${source} can hold twice: not checked`);
    return;
  }
  for (const paced of [false, true]) {
    const buffer = bufferOn(source, bytes, false);
    const report = await migrateBuffer(buffer, target, { countMoved: true, ...(paced && { maxCallMs: 50 }) });
    const where = pageNodes(buffer);
    const name = paced ? 'paced' : 'unpaced';
    t.equal(report.onNode, tally(where)[target] ?? 0, `${name}: ${report.onNode} pages on node ${target}, as read back`);
    t.same(report.elsewhere, awayFrom(where, target), `${name}: the pages elsewhere by node, as read back: ${JSON.stringify([...report.elsewhere])}`);
    t.ok((report.elsewhere.get(source) ?? 0) > 0, `${name}: some pages found no room`);
    t.equal(report.moved, report.onNode, `${name}: moved counts only pages now on node ${target} (none was there before)`);
    t.equal(report.onNode + [...report.elsewhere.values()].reduce((a, b) => a + b, 0), report.pages, `${name}: every page on a node`);
  }
});

/** The anonymous memory (heap, stack, anon) of process `pid` per node, in pages, from its numa_maps. */
function anonymousPages(pid: number): Map<number, number> {
  const { bytesByKind } = processPlacement(pid);
  const pages = new Map<number, number>();
  for (const kind of ['heap', 'stack', 'anon'] as const) {
    for (const [node, bytes] of bytesByKind[kind]) pages.set(node, (pages.get(node) ?? 0) + bytes / PAGE);
  }
  return pages;
}

/** A child process holding `mib` MiB written on node `node` (its memory preferred there), stopped: nothing in it changes while it is moved. */
async function childOn(t: Test, node: number, mib: number) {
  const script = `const b = Buffer.alloc(${mib} * 2 ** 20, 1); console.log('ready'); setInterval(() => b[0]++, 1000);`;
  const child = spawnOnNode(node, process.execPath, ['-e', script], { memory: 'preferred', env: childEnv() });
  t.teardown(() => {
    child.kill('SIGKILL');
  });
  await once(child.stdout!, 'data');
  await stopped(child);
  return child.pid!;
}

t.test('migrateProcess gently: range by range, every anonymous page of the process moved, calls timed', async (t) => {
  const nodes = multiNodeOrSkip(t);
  if (!nodes) return;
  const pid = await childOn(t, nodes[0], 32);
  const before = anonymousPages(pid);
  // Its memory is preferred on the first node, but may have come from others (a huge page where the first had none free): to the node with least of it.
  const to = [...nodes].sort((a, b) => (before.get(a) ?? 0) - (before.get(b) ?? 0))[0];
  const others = nodes.filter((node) => node !== to);
  const report = await migrateProcess(pid, others, others.map(() => to), { maxCallMs: 5 });
  const after = anonymousPages(pid);
  const left = others.reduce((sum, node) => sum + (after.get(node) ?? 0), 0);
  const wanted = others.reduce((sum, node) => sum + (before.get(node) ?? 0), 0);
  t.ok(wanted >= (16 * MiB) / PAGE, `${wanted} anonymous pages on nodes ${others} before`);
  t.equal(left, 0, `no anonymous page left on nodes ${others}: ${JSON.stringify([...after])}`);
  t.ok(report.moved >= wanted, `${report.moved} pages moved (the anonymous ones, and file pages the process alone maps)`);
  t.equal(report.notMoved, [...report.failed.values()].reduce((a, b) => a + b, 0) + report.hidden, 'notMoved: the pages failed and hidden');
  t.ok(report.mappings > 0 && report.calls > 2, `${report.mappings} mappings in ${report.calls} calls`);
  t.equal(report.callMs.length, report.calls, 'every call timed');
  t.ok([...report.failed.keys()].every((code) => ['EACCES', 'EBUSY', 'NOT_MOVED'].includes(code)), `only shared or busy pages failed: ${JSON.stringify([...report.failed])}`);
  t.equal([...report.elsewhere.values()].reduce((a, b) => a + b, 0) <= report.notMoved, true, 'the pages elsewhere are among those not moved');
});

t.test('migrateProcess gently swaps two nodes without a spare one: each page goes by the node it is on', async (t) => {
  const nodes = multiNodeOrSkip(t);
  if (!nodes) return;
  const [a, b] = nodes;
  const pid = await childOn(t, a, 16);
  const before = anonymousPages(pid);
  t.ok((before.get(a) ?? 0) + (before.get(b) ?? 0) >= (16 * MiB) / PAGE, `anonymous pages on nodes ${a} and ${b}: ${JSON.stringify([...before])}`);
  const began = performance.now();
  const report = migrateProcessSync(pid, [a, b], [b, a], { bytesPerSecond: 64 * MiB });
  const seconds = (performance.now() - began) / 1000;
  const after = anonymousPages(pid);
  // The pages on a went to b and those on b to a: NUMA balancing is off in the stopped child, nothing else moves them.
  t.equal(after.get(b) ?? 0, before.get(a) ?? 0, `node ${a}'s ${before.get(a)} anonymous pages now on node ${b}`);
  t.equal(after.get(a) ?? 0, before.get(b) ?? 0, `node ${b}'s ${before.get(b) ?? 0} anonymous pages now on node ${a}`);
  // Not a measure of speed: the last pause ends when the bytes moved are due at the rate, never sooner.
  t.ok(seconds >= (report.moved * PAGE) / (64 * MiB), `${seconds.toFixed(2)} s for ${report.moved} pages at 64 MiB/s`);
  t.ok(report.bytesPerSecond <= 64 * MiB, `achieved ${(report.bytesPerSecond / MiB).toFixed(2)} MiB/s`);
});

t.test('migrateProcess gently crosses the holes of a sparse mapping: 16 TiB reserved, three pages written', async (t) => {
  if (!kernelHasPagemapScan()) {
    return t.plan(0, 'finding the written pages of a mapping takes PAGEMAP_SCAN (Linux 6.7+); before it, the walk asks about every page');
  }
  const nodes = memoryNodeIds();
  const to = nodes.at(-1)!;
  const { child, start } = await sparseMappingChild(t, 2 ** 44);
  const mapping = () => processPlacement(child.pid!).mappings.find((candidate) => candidate.start === start)!;
  const before = mapping();
  t.equal(before.pages, 3, 'three pages present in the mapping');
  // Page by page that would be 2^32 pages to ask about, 16 Ki pages at a time: hours.
  const report = await migrateProcess(child.pid!, nodes, nodes.map(() => to), { maxCallMs: 5 });
  t.same([...mapping().byNode], [[to, 3]], `its three pages on node ${to}`);
  t.ok(report.moved >= 3 - (before.byNode.get(to) ?? 0), `${report.moved} pages moved`);
  t.equal(report.notMoved, 0);
});

t.test('migrateProcess: the budget options are checked before any system call; without them, one migrate_pages call per pair', async (t) => {
  const node = memoryNodeIds()[0];
  t.throws(() => migrateProcessSync(0, [node], [node], { maxCallMs: -1 }), { name: 'RangeError', message: /^migrateProcessSync: expected a positive number for `options.maxCallMs`/ });
  t.throws(() => migrateProcessSync(0, [node], [node], { chunkPages: 4 } as never), { name: 'TypeError', message: /unknown option `options.chunkPages`/ });
  t.same(migrateProcessSync(0, [node], [node]), { notMoved: 0 }, 'unbudgeted: migrate_pages, { notMoved }');
  const report = migrateProcessSync(0, [node], [node], { maxCallMs: 5 });
  t.same([report.moved, report.calls, report.notMoved], [0, 0, 0], 'a node to itself: nothing to move, no move_pages call');
});

t.test('in a guest: migrateProcess gently to a node outside the process\'s cpuset is EACCES naming it, before any call', async (t) => {
  const nodes = multiNodeOrSkip(t);
  if (!nodes) return;
  if (!process.env.NUMAPLACE_VM_TOPOLOGY) return void t.plan(0, 'mounts a cgroup of its own: in the guests only');
  const [inside, outside] = nodes;
  const cgroup = testCgroup(t, ['cpuset']);
  writeFileSync(path.join(cgroup.directory, 'cpuset.mems'), String(inside));
  const child = spawn(process.execPath, ['-e', "console.log('ready'); setInterval(() => {}, 1000);"], { env: childEnv(), stdio: ['ignore', 'pipe', 'inherit'] });
  cgroup.enter(child);
  await once(child.stdout!, 'data');
  // Stopped: a running Node process's heap changes from one reading to the next.
  await stopped(child);
  const before = anonymousPages(child.pid!);
  await t.rejects(migrateProcess(child.pid!, [inside], [outside], { maxCallMs: 5 }), {
    name: 'NumaError',
    code: 'EACCES',
    message: new RegExp(`^migrateProcess: node ${outside} is outside the cpuset of process ${child.pid}`),
  });
  t.same(anonymousPages(child.pid!), before, 'nothing moved');
});
