// keepNear(): a handle that keeps a buffer's pages on a node, checking on an
// interval or when asked. Its arguments are checked before anything runs; on
// one node there is nothing to correct; with two nodes, pages moved away
// behind its back come back, counted by the node they were on.
import { once } from 'node:events';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import t, { type Test } from 'tap';
import {
  allocOnNode,
  type Correction,
  keepNear,
  type KeepNear,
  migrateBufferSync,
  nodeOfThread,
  pageNodes,
  pinThread,
  startWorkerOnNode,
  threadAffinity,
  topology,
} from '../lib/index';
import { absentNode, awayFrom, memoryNodeIds, multiNodeOrSkip, tally } from './helpers';

const PAGE = topology().pageSize;
const WORKER = path.join(__dirname, 'fixtures', 'report-placement.js');

/** Small pages written on `node`: each placed, and moved, one by one. */
function bufferOn(node: number, pages: number): Buffer {
  return allocOnNode(pages * PAGE, node, { hugePages: false }).fill(1);
}

/** Timers keeping the event loop alive. */
function activeTimers(): number {
  return process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
}

/** The handle, stopped when test `t` ends however it ends. */
function kept(t: Test, handle: KeepNear): KeepNear {
  t.teardown(() => handle.stop());
  return handle;
}

t.test('arguments are checked before anything runs', async (t) => {
  const home = memoryNodeIds()[0];
  const buffer = bufferOn(home, 4);
  const before = activeTimers();
  t.throws(() => keepNear('buffer' as never, { node: home }), { name: 'TypeError', message: /^keepNear: expected a Buffer, TypedArray.* for `view` but received string/ });
  t.throws(() => keepNear(buffer.subarray(0, 0), { node: home }), { name: 'RangeError', message: /^keepNear: expected a view of at least one byte .*for `view`/ });
  t.throws(() => keepNear(buffer, 1 as never), { name: 'TypeError', message: /^keepNear: expected \{ node \}, \{ thread: true \} or \{ worker \} for `target` but received number 1/ });
  t.throws(() => keepNear(buffer, { nod: home } as never), { name: 'TypeError', message: /^keepNear: unknown option `target.nod` \(did you mean `node`\?\)/ });
  t.throws(() => keepNear(buffer, {} as never), { name: 'RangeError', message: /^keepNear: expected exactly one of \{ node \}/ });
  t.throws(() => keepNear(buffer, { node: home, thread: true } as never), { name: 'RangeError', message: /^keepNear: expected exactly one of/ });
  t.throws(() => keepNear(buffer, { node: -1 }), { name: 'RangeError', message: /^keepNear: expected a non-negative integer node id for `target.node`/ });
  t.throws(() => keepNear(buffer, { thread: false } as never), { name: 'RangeError', message: /^keepNear: expected true .* for `target.thread` but received boolean false/ });
  t.throws(() => keepNear(buffer, { worker: {} } as never), { name: 'TypeError', message: /^keepNear: expected a Worker started with startWorkerOnNode for `target.worker`/ });
  t.throws(() => keepNear(buffer, { node: home }, { interval: 100 } as never), { name: 'TypeError', message: /^keepNear: unknown option `options.interval` \(did you mean `intervalMs`\?\)/ });
  for (const intervalMs of [0, -5, 1.5, 2 ** 31, Infinity]) {
    t.throws(() => keepNear(buffer, { node: home }, { intervalMs }), { name: 'RangeError', message: /^keepNear: expected a positive integer for `options.intervalMs`/ }, `intervalMs ${intervalMs}`);
  }
  t.throws(() => keepNear(buffer, { node: home }, { intervalMs: '1000' as never }), { name: 'TypeError', message: /`options.intervalMs` but received string/ });
  t.throws(() => keepNear(buffer, { node: home }, { minPages: 0 }), { name: 'RangeError', message: /^keepNear: expected a positive integer for `options.minPages`/ });
  t.throws(() => keepNear(buffer, { node: home }, { maxCallMs: 0 }), { name: 'RangeError', message: /^keepNear: expected a positive number for `options.maxCallMs`/ });
  t.throws(() => keepNear(buffer, { node: home }, { bytesPerSecond: -1 }), { name: 'RangeError', message: /`options.bytesPerSecond`/ });
  t.throws(() => keepNear(buffer, { node: home }, { unref: 'yes' as never }), { name: 'TypeError', message: /^keepNear: expected a boolean for `options.unref`/ });
  t.throws(() => keepNear(buffer, { node: home }, { signal: {} as never }), { name: 'TypeError', message: /^keepNear: expected an AbortSignal for `options.signal`/ });
  const node = absentNode();
  const error = t.throws(() => keepNear(buffer, { node }, { intervalMs: 10 }), { name: 'NumaError', code: 'ENODEV', message: new RegExp(`^keepNear: node ${node} is not online \\(ENODEV\\)`) });
  t.equal((error as { syscall?: string }).syscall, undefined, 'found before any system call');
  t.equal(activeTimers(), before, 'no handle was started');
});

t.test('a worker: the node startWorkerOnNode gave it; another worker has none keepNear knows', async (t) => {
  const home = topology().nodes.find((node) => node.hasCpu && node.hasMemory)!.id;
  const buffer = bufferOn(home, 4);
  const started = startWorkerOnNode(WORKER, home, { workerData: {} });
  t.teardown(() => started.terminate());
  t.equal(kept(t, keepNear(buffer, { worker: started })).node, home);
  const plain = new Worker('', { eval: true });
  t.teardown(() => plain.terminate());
  t.throws(() => keepNear(buffer, { worker: plain }), { name: 'RangeError', message: /^keepNear: `target.worker` was not started with startWorkerOnNode/ });
  await once(started, 'message');
});

t.test('the calling thread: the node it runs near now', async (t) => {
  // Pinned, each node with CPUs in turn: unpinned, the scheduler may move the thread between keepNear() and the check.
  const original = threadAffinity();
  t.teardown(() => {
    pinThread(original);
  });
  const buffer = bufferOn(memoryNodeIds()[0], 4);
  for (const { id, hasMemory } of topology().nodes.filter((node) => node.cpus.length > 0)) {
    pinThread({ node: id });
    const handle = kept(t, keepNear(buffer, { thread: true }));
    t.equal(nodeOfThread(), id, `pinned to node ${id}`);
    if (hasMemory) t.equal(handle.node, id, `kept on node ${id}`);
    else t.ok(memoryNodeIds().includes(handle.node), `node ${id} has no memory: the node with memory nearest it, ${handle.node}`);
  }
});

t.test('a buffer where it belongs: check() finds nothing to correct', async (t) => {
  const home = memoryNodeIds()[0];
  const buffer = bufferOn(home, 16);
  const handle = kept(t, keepNear(buffer, { node: home }));
  const corrections: Correction[] = [];
  handle.on('correction', (correction) => corrections.push(correction));
  t.equal(handle.node, home);
  t.equal(await handle.check(), null, 'nothing elsewhere');
  t.same(corrections, [], 'no correction event');
  t.same(handle.stats, { checks: 1, corrections: 0, pagesMoved: 0 });
  t.equal(handle.stopped, false);
  await handle.stop();
  t.equal(handle.stopped, true);
  t.equal(handle.lastError, undefined, 'stopped, not failed');
  await handle.stop();
  t.pass('stop() again does nothing more');
  await t.rejects(handle.check(), { name: 'TypeError', code: 'ERR_INVALID_STATE', message: /^keepNear: check\(\) on a handle that has stopped/ });
});

t.test('the timer: unref by default, ended by stop() and by the signal', async (t) => {
  const home = memoryNodeIds()[0];
  const buffer = bufferOn(home, 4);
  const before = activeTimers();
  const quiet = kept(t, keepNear(buffer, { node: home }, { intervalMs: 20 }));
  t.equal(activeTimers(), before, 'an unref timer does not keep the process alive');
  await new Promise((resolve) => setTimeout(resolve, 100));
  t.ok(quiet.stats.checks >= 1, `the timer checked (${quiet.stats.checks} times)`);
  await quiet.stop();
  const checks = quiet.stats.checks;
  await new Promise((resolve) => setTimeout(resolve, 60));
  t.equal(quiet.stats.checks, checks, 'no check after stop()');

  const held = keepNear(buffer, { node: home }, { intervalMs: 1000, unref: false });
  t.equal(activeTimers(), before + 1, 'unref: false keeps the process alive');
  await held.stop();
  t.equal(activeTimers(), before, 'until stop()');

  const controller = new AbortController();
  const aborted = keepNear(buffer, { node: home }, { intervalMs: 1000, unref: false, signal: controller.signal });
  controller.abort();
  t.equal(aborted.stopped, true, 'the signal stops it');
  t.equal(activeTimers(), before);
  const early = keepNear(buffer, { node: home }, { intervalMs: 1000, unref: false, signal: AbortSignal.abort() });
  t.equal(early.stopped, true, 'a signal aborted already: stopped from the start');
  t.equal(activeTimers(), before);
});

t.test('a buffer given away stops the handle with the error of the check that met it', async (t) => {
  const home = memoryNodeIds()[0];
  // Not numaplace's own memory, which cannot be detached: a transfer copies it.
  const memory = new ArrayBuffer(8 * PAGE);
  new Uint8Array(memory).fill(1);
  const onCheck = kept(t, keepNear(memory, { node: home }));
  // Timers that keep the process alive: the test waits for nothing else.
  const byTimer = kept(t, keepNear(memory, { node: home }, { intervalMs: 10, unref: false }));
  const silent = kept(t, keepNear(memory, { node: home }, { intervalMs: 10, unref: false }));
  const errored = once(byTimer, 'error') as Promise<[Error]>;
  const warned = once(process, 'warning') as Promise<[Error & { code: string }]>;
  structuredClone(memory, { transfer: [memory] });
  const detached = { name: 'TypeError', code: 'ERR_INVALID_STATE', message: /^keepNear: `view` is backed by a detached ArrayBuffer/ };
  await t.rejects(onCheck.check(), detached, 'check() rejects');
  t.equal(onCheck.stopped, true, 'and the handle stops');
  t.match(onCheck.lastError, detached);
  const [error] = await errored;
  t.match(error, detached, "the timer's check: an 'error' event");
  t.equal(byTimer.stopped, true);
  // No 'error' listener: no crash, a warning, the error kept.
  const [warning] = await warned;
  t.match(warning, { code: 'NUMAPLACE_KEEP_NEAR_STOPPED', message: /^keepNear stopped: keepNear: `view` is backed by a detached ArrayBuffer/ });
  t.equal(silent.stopped, true);
  t.match(silent.lastError, detached);
});

t.test('pages moved away behind its back come back', async (t) => {
  const nodes = multiNodeOrSkip(t);
  if (!nodes) return;
  const [home, away] = nodes;
  const buffer = bufferOn(home, 64);
  const pages = pageNodes(buffer).length;
  const handle = kept(t, keepNear(buffer, { node: home }));
  const events: Correction[] = [];
  handle.on('correction', (correction) => events.push(correction));

  const moved = migrateBufferSync(buffer.subarray(16 * PAGE, 48 * PAGE), away).onNode;
  t.ok(moved > 0, `${moved} pages moved to node ${away}`);
  const drifted = awayFrom(pageNodes(buffer), home);
  t.same(drifted, new Map([[away, moved]]), `the pages are on node ${away}`);
  const correction = await handle.check();
  t.ok(correction, 'check() corrected');
  t.same(correction!.drifted, drifted, 'found the pages that were elsewhere, by node');
  t.equal(correction!.moved, moved, 'moved them back');
  t.equal(correction!.node, home);
  t.equal(correction!.complete, true);
  t.equal(correction!.report.onNode, pages);
  t.same(events, [correction], "one 'correction' event, the same");
  t.same(tally(pageNodes(buffer)), { [home]: pages }, `every page on node ${home}`);
  t.same(handle.stats, { checks: 1, corrections: 1, pagesMoved: moved });
  t.equal(await handle.check(), null, 'nothing left to correct');
});

t.test('on the interval, with a budget; less drift than minPages is left alone', async (t) => {
  const nodes = multiNodeOrSkip(t);
  if (!nodes) return;
  const [home, away] = nodes;
  const buffer = bufferOn(home, 64);
  const pages = pageNodes(buffer).length;
  // A timer that keeps the process alive: waiting for an event does not, nor does AbortSignal.timeout().
  const handle = kept(t, keepNear(buffer, { node: home }, { intervalMs: 50, maxCallMs: 50, minPages: 4, unref: false }));

  const few = migrateBufferSync(buffer.subarray(0, 2 * PAGE), away).onNode;
  t.equal(few, 2, 'two pages moved away');
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.ok(handle.stats.checks >= 2, `the timer checked (${handle.stats.checks} times)`);
  t.equal(handle.stats.corrections, 0, 'fewer than minPages: left alone');

  const more = migrateBufferSync(buffer.subarray(32 * PAGE, 40 * PAGE), away).onNode;
  const [correction] = (await once(handle, 'correction', { signal: AbortSignal.timeout(60_000) })) as [Correction];
  t.same(correction.drifted, new Map([[away, few + more]]), 'every page elsewhere counted, by node');
  t.equal(correction.moved, few + more);
  t.type(correction.report.longestCallMs, 'number', 'the budget reached the migration: its report has the call times');
  t.equal(correction.report.callMs?.length, correction.report.calls);
  t.same(tally(pageNodes(buffer)), { [home]: pages }, `every page on node ${home}`);
});

t.test('a correction with bytesPerSecond: its pauses keep no timer alive; stop() ends it between calls, and check() then rejects', async (t) => {
  const nodes = multiNodeOrSkip(t);
  if (!nodes) return;
  const [home, away] = nodes;
  const buffer = bufferOn(home, 64);
  const pages = pageNodes(buffer).length;
  migrateBufferSync(buffer, away);
  const before = activeTimers();
  // Four pages a second: each call moves one page, then the correction pauses a quarter of a second.
  const handle = kept(t, keepNear(buffer, { node: home }, { bytesPerSecond: 4 * PAGE }));
  const correcting = handle.check();
  await new Promise((resolve) => setTimeout(resolve, 200));
  t.equal(activeTimers(), before, 'no timer of the handle keeps the process alive, the pauses included');
  const stopping = handle.stop();
  await t.rejects(handle.check(), { name: 'TypeError', code: 'ERR_INVALID_STATE' }, 'check() after stop() rejects, while the correction ends');
  const correction = await correcting;
  await stopping;
  t.equal(correction!.complete, false, 'the correction stopped part way');
  t.ok(correction!.moved >= 1 && correction!.moved < pages, `${correction!.moved} of ${pages} pages moved back before the stop`);
  t.equal(tally(pageNodes(buffer))[home] ?? 0, correction!.moved, `the pages on node ${home} are those it moved`);
});
