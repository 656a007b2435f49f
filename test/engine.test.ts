// The migration engine: chunks, progress, cancellation and parallel chunks.
import { readFileSync } from 'node:fs';
import t from 'tap';
import { native } from '../lib/binding';
import { alignedChunkPages, planChunks } from '../lib/engine';
import { allocLocal, allocOnNode, migrateBuffer, migrateBufferSync, MigrationAbortedError, pageNodes, type Progress, topology } from '../lib/index';
import { checksum, filledBuffer, memoryNodeIds, multiNodeOrSkip, numaBalancing, tally } from './helpers';

const PAGE = topology().pageSize;
const MiB = 2 ** 20;
const HUGE_PAGE_PAGES = Number(readFileSync('/sys/kernel/mm/transparent_hugepage/hpage_pmd_size', 'utf8')) / PAGE;

t.test('chunks cover the span exactly, at huge-page-aligned boundaries', async (t) => {
  t.equal(alignedChunkPages(1), HUGE_PAGE_PAGES);
  t.equal(alignedChunkPages(HUGE_PAGE_PAGES + 1), 2 * HUGE_PAGE_PAGES);
  const buffer = filledBuffer(10 * MiB + 3 * PAGE);
  const view = new Uint8Array(buffer.buffer, buffer.byteOffset + 100, buffer.length - 300);
  const span = native.spanOf(view);
  const chunks = planChunks(view, HUGE_PAGE_PAGES);
  let page = 0;
  let bytes = 0;
  for (const [index, chunk] of chunks.entries()) {
    const own = native.spanOf(chunk.view);
    t.equal(chunk.firstPage, page, `chunk ${index} starts where the last ended`);
    t.equal(own.start, span.start + BigInt(page * PAGE), `chunk ${index}'s span is its pages of the view's span`);
    t.equal(own.pages, chunk.pages);
    if (index > 0) t.equal(own.start % BigInt(HUGE_PAGE_PAGES * PAGE), 0n, `chunk ${index} starts on a huge-page boundary`);
    page += chunk.pages;
    bytes += chunk.view.byteLength;
  }
  t.equal(page, span.pages, 'every page of the span in exactly one chunk');
  t.equal(bytes, view.byteLength, 'every byte of the view in exactly one chunk');
  t.ok(chunks.length >= 5);
  // By default as few move_pages calls as the lanes allow (each has a fixed cost in the kernel).
  t.equal(planChunks(view, undefined).length, 1, 'default: one chunk for a span of up to 16384 pages');
  const inside = allocLocal(8 * MiB).subarray(300 * PAGE, 1300 * PAGE); // 1000 pages from 300 pages into a huge page
  t.equal(planChunks(inside, undefined).length, 1, 'default: one chunk for a span that starts inside a huge page too');
  const perLane = planChunks(view, undefined, 3);
  t.ok(perLane.length >= 3 && perLane.length <= 4, `default with 3 lanes: ${perLane.length} chunks, one or two per lane`);
  const large = allocLocal(80 * MiB); // never touched: planning reads no page
  t.same(planChunks(large, undefined).map((chunk) => chunk.pages), [16384, 4096], 'default: at most 16384 pages per chunk, counted from the first huge page');
});

t.test('progress after every chunk adds up to the span, sync and async', async (t) => {
  const buffer = filledBuffer(16 * MiB);
  const node = pageNodes(buffer)[0];
  for (const [name, run] of Object.entries({
    sync: (options: { onProgress: (p: Progress) => void }) => migrateBufferSync(buffer, node, { chunkPages: HUGE_PAGE_PAGES, ...options }),
    async: (options: { onProgress: (p: Progress) => void }) => migrateBuffer(buffer, node, { chunkPages: HUGE_PAGE_PAGES, concurrency: 2, ...options }),
  })) {
    const seen: Progress[] = [];
    const report = await run({ onProgress: (progress) => seen.push(progress) });
    t.equal(seen.length, report.chunks, `${name}: one progress call per chunk`);
    t.ok(report.chunks >= 8, `${name}: ${report.chunks} chunks`);
    t.ok(seen.every((p, i) => p.pages === report.pages && p.done > (seen[i - 1]?.done ?? 0)), `${name}: done only grows`);
    t.equal(seen.at(-1)!.done, report.pages, `${name}: the last call says every page is done`);
    t.equal(report.onNode + report.notPresent, report.pages, `${name}: every page accounted for`);
    t.equal(report.method, 'move_pages');
  }
});

t.test('a chunk larger than a default one is counted as exactly (its statuses in an array of its own)', async (t) => {
  const node = memoryNodeIds()[0];
  const buffer = allocLocal(80 * MiB, { hugePages: false }).fill(2);
  for (const [name, report] of [
    ['one chunk of 20480 pages', migrateBufferSync(buffer, node, { chunkPages: 32768 })],
    ['default chunks', migrateBufferSync(buffer, node)],
  ] as const) {
    t.equal(report.onNode + report.notPresent, report.pages, `${name}: every page accounted for`);
    t.same(report.failed, new Map(), `${name}: nothing failed`);
  }
});

t.test('an AbortSignal stops the migration between chunks, data intact', async (t) => {
  const buffer = filledBuffer(16 * MiB);
  const digest = checksum(buffer);
  const node = pageNodes(buffer)[0];
  const firstChunk = planChunks(buffer, HUGE_PAGE_PAGES)[0].pages;
  for (const [name, run] of Object.entries({
    sync: (options: object) => migrateBufferSync(buffer, node, options),
    async: (options: object) => migrateBuffer(buffer, node, { concurrency: 1, ...options }),
  })) {
    const controller = new AbortController();
    const reason = new Error('enough');
    let error: unknown;
    try {
      await run({ chunkPages: HUGE_PAGE_PAGES, signal: controller.signal, onProgress: () => controller.abort(reason) });
    } catch (caught) {
      error = caught;
    }
    t.ok(error instanceof MigrationAbortedError, `${name}: aborted`);
    const aborted = error as MigrationAbortedError;
    t.match(aborted, { name: 'AbortError', code: 'ABORT_ERR', cause: reason, message: new RegExp(`^migrateBuffer(Sync)?: aborted after ${firstChunk} of`) });
    t.equal(aborted.report.pages, firstChunk, `${name}: the report covers the one chunk that ran`);
    t.ok(aborted.totalPages > aborted.report.pages);
    const counts = tally(pageNodes(buffer));
    const onNodes = memoryNodeIds().reduce((sum, id) => sum + (counts[id] ?? 0), 0);
    t.equal(onNodes, aborted.totalPages, `${name}: every page is on a node (NUMA balancing may have moved some)`);
    t.equal(checksum(buffer), digest, `${name}: data unchanged`);
  }
  const before = AbortSignal.abort();
  await t.rejects(migrateBuffer(buffer, node, { signal: before }), { name: 'AbortError', report: { pages: 0 } }, 'an aborted signal moves nothing');
  t.throws(() => migrateBufferSync(buffer, node, { signal: before }), { name: 'AbortError', report: { pages: 0 } });
});

t.test('engine options are validated; a throwing onProgress stops the migration', async (t) => {
  const buffer = filledBuffer(4 * MiB);
  const node = pageNodes(buffer)[0];
  await t.rejects(migrateBuffer(buffer, node, { chunkPages: 0 }), { name: 'RangeError', message: /migrateBuffer: .*options\.chunkPages/ });
  await t.rejects(migrateBuffer(buffer, node, { concurrency: 1.5 }), { name: 'RangeError', message: /options\.concurrency/ });
  await t.rejects(migrateBuffer(buffer, node, { onProgress: 'log' as unknown as () => void }), { name: 'TypeError', message: /options\.onProgress/ });
  await t.rejects(migrateBuffer(buffer, node, { signal: {} as AbortSignal }), { name: 'TypeError', message: /options\.signal/ });
  t.throws(() => migrateBufferSync(buffer, node, { concurrency: 2 } as object), { name: 'TypeError', message: /migrateBufferSync: .*concurrency/ });
  const boom = new Error('progress handler failed');
  await t.rejects(migrateBuffer(buffer, node, { chunkPages: HUGE_PAGE_PAGES, onProgress: () => { throw boom; } }), boom);
});

t.test('multi-node: parallel chunks move everything; an abort leaves each page on one of the two nodes', async (t) => {
  const nodes = multiNodeOrSkip(t);
  if (!nodes) return;
  // 4 KiB pages: NUMA balancing moves a transparent huge page toward its reader as a whole.
  const a = nodes[0];
  const b = nodes[1];
  const buffer = allocOnNode(32 * MiB + PAGE, a, { hugePages: false }).subarray(100);
  buffer.set(filledBuffer(buffer.length));
  const digest = checksum(buffer);
  const report = await migrateBuffer(buffer, b, { concurrency: 3, chunkPages: 1024, countMoved: true });
  t.match(report, { chunks: planChunks(buffer, 1024).length, concurrency: 3, failed: new Map() });
  const slack = numaBalancing() ? Math.ceil(report.pages / 100) : 0;
  t.ok(report.moved! >= report.pages - slack, `${report.moved} of ${report.pages} pages moved`);
  t.ok((tally(pageNodes(buffer))[b] ?? 0) >= report.pages - slack, 'read back on the target');
  t.equal(checksum(buffer), digest);

  const controller = new AbortController();
  const error = await migrateBuffer(buffer, a, {
    concurrency: 2,
    chunkPages: 1024,
    signal: controller.signal,
    onProgress: ({ done }) => done >= 4096 && controller.abort(),
  }).then(
    () => {
      throw new Error('the migration was not aborted');
    },
    (caught: unknown) => caught as MigrationAbortedError,
  );
  t.equal(error.name, 'AbortError');
  const counts = tally(pageNodes(buffer));
  t.equal((counts[a] ?? 0) + (counts[b] ?? 0), error.totalPages, 'every page is on one of the two nodes');
  const done = error.report.onNode;
  t.ok(Math.abs((counts[a] ?? 0) - done) <= slack, `node ${a} holds the ${done} pages of the chunks done before the abort`);
  t.ok(error.report.pages < error.totalPages, `${error.report.pages} of ${error.totalPages} pages done`);
  t.equal(checksum(buffer), digest, 'data unchanged');
});
