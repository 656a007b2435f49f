// Memory a caller gives away while numaplace works on it: a buffer transferred,
// detached or shrunk during a migration, the arrays of a raw query function
// detached. Each must end in a coded error that names the public function and
// carries what was done, never in a success report or a crash.
import { spawnSync } from 'node:child_process';
import t from 'tap';
import { native } from '../lib/binding';
import { migrateBuffer, migrateBufferSync, MigrationFailedError, type MigrationReport, pageNodes } from '../lib/index';
import { childEnv, filledBuffer } from './helpers';

const PAGE = native.pageSize;
// Chunks are whole huge pages (2 MiB on x86-64): several of them.
const CHUNK = Math.max(1, native.hugePageSize / PAGE);
const BYTES = 4 * CHUNK * PAGE;

/** Every page of a report is on the node, not present or failed: the counts add up to its pages. */
function addsUp(report: MigrationReport): boolean {
  const failed = [...report.failed.values()].reduce((sum, pages) => sum + pages, 0);
  return report.onNode + report.notPresent + failed === report.pages;
}

const givenAway = (fn: string) => ({ name: 'NumaError', code: 'EFAULT', syscall: 'move_pages', message: new RegExp(`^${fn}: .*given away`) });

t.test('a buffer transferred while migrateBuffer runs: EFAULT with the report of the chunks done', async (t) => {
  const view = new Uint8Array(filledBuffer(BYTES));
  const node = pageNodes(view)[0];
  const moving = migrateBuffer(view, node, { chunkPages: CHUNK, concurrency: 1 });
  // The first chunk is in the kernel (or queued for it) now.
  const kept = structuredClone(view.buffer, { transfer: [view.buffer] });
  const error = await moving.then(() => undefined, (caught: unknown) => caught);
  t.type(error, MigrationFailedError);
  t.match(error, givenAway('migrateBuffer'));
  const { report, totalPages } = error as MigrationFailedError;
  t.ok(totalPages >= BYTES / PAGE, `the whole span: ${totalPages} pages`);
  t.equal(report.pages, 0, 'the chunk that ran while the memory went away does not count');
  t.ok(addsUp(report));
  t.equal(kept.byteLength, BYTES, 'the memory went to the clone');
});

t.test('a buffer transferred between chunks: no chunk starts on it, the done ones are reported', async (t) => {
  const view = new Uint8Array(filledBuffer(BYTES));
  const node = pageNodes(view)[0];
  let done = 0;
  const onProgress = (progress: { done: number }) => {
    if (done === 0) structuredClone(view.buffer, { transfer: [view.buffer] });
    done ||= progress.done;
  };
  const error = await migrateBuffer(view, node, { chunkPages: CHUNK, concurrency: 1, status: true, onProgress }).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  t.match(error, givenAway('migrateBuffer'));
  const { report } = error as MigrationFailedError;
  t.ok(done > 0 && done < BYTES / PAGE, `one chunk of ${done} pages was done before the transfer`);
  t.equal(report.pages, done);
  t.equal(report.onNode, done, 'and its pages are on the node');
  t.equal(report.status?.length, done, 'statuses only for the pages asked of the kernel');
  t.ok(addsUp(report));

  const sync = new Uint8Array(filledBuffer(BYTES));
  let syncDone = 0;
  const detach = (progress: { done: number }) => {
    if (syncDone === 0) structuredClone(sync.buffer, { transfer: [sync.buffer] });
    syncDone ||= progress.done;
  };
  const thrown = t.throws(() => migrateBufferSync(sync, node, { chunkPages: CHUNK, onProgress: detach }), givenAway('migrateBufferSync')) as unknown;
  t.equal((thrown as MigrationFailedError).report.pages, syncDone);
});

t.test('a resizable buffer shrunk during a migration: measured once, its report adds up', async (t) => {
  // ES2024's resizable ArrayBuffer, which Node 20 has and the ES2022 typings do not.
  const Resizable = ArrayBuffer as unknown as new (bytes: number, options: { maxByteLength: number }) => ArrayBuffer & { resize(bytes: number): void };
  const buffer = new Resizable(BYTES, { maxByteLength: 2 * BYTES });
  const view = new Uint8Array(buffer); // tracks the buffer's length
  view.fill(7);
  const node = pageNodes(view)[0];
  const pages = pageNodes(view).length;
  let done = 0;
  const shrink = (progress: { done: number }) => {
    done ||= progress.done;
    buffer.resize(PAGE);
  };
  const error = await migrateBuffer(view, node, { chunkPages: CHUNK, concurrency: 1, status: true, onProgress: shrink }).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  t.match(error, givenAway('migrateBuffer'));
  const { report, totalPages } = error as MigrationFailedError;
  t.equal(totalPages, pages, 'the span as it was when the call began');
  t.equal(report.pages, done);
  t.equal(report.status?.length, done);
  t.ok(addsUp(report));

  buffer.resize(BYTES);
  view.fill(7);
  const grown = await migrateBuffer(view, node, { chunkPages: CHUNK, concurrency: 1, onProgress: () => buffer.resize(2 * BYTES) });
  t.equal(grown.pages, pages, 'grown during the move: the pages it had when the call began');
  t.equal(grown.onNode, pages);
  t.ok(addsUp(grown));
});

t.test('the raw addon: a detached view under migrateAsync, detached query arrays', async (t) => {
  const view = new Uint8Array(filledBuffer(BYTES));
  const node = pageNodes(view)[0];
  const moving = native.migrateAsync(view, node, {});
  structuredClone(view.buffer, { transfer: [view.buffer] });
  await t.rejects(moving, { code: 'EFAULT', errno: -14, syscall: 'move_pages' });

  const scratch = new Int32Array(8);
  const counts = new Float64Array(2);
  const query = native.pageQuery(scratch, counts);
  const memory = new Uint8Array(filledBuffer(PAGE));
  t.equal(query(memory), undefined, 'a query into the scratch array');
  // Its own page, which may be on another node than the view's in a multi-node guest.
  t.equal(scratch[0], pageNodes(memory)[0]);
  structuredClone(scratch.buffer, { transfer: [scratch.buffer] });
  t.throws(() => query(memory), { name: 'TypeError', message: /^queryPages: the scratch or counts array .* was detached/ });
  const other = native.pageQuery(new Int32Array(8), counts);
  structuredClone(counts.buffer, { transfer: [counts.buffer] });
  t.throws(() => other(memory), { name: 'TypeError', message: /detached/ }, 'the counts array too');
});

t.test('memory freed by the GC under a running move: a rejection, no crash', async (t) => {
  // The clone that took the memory is dropped and collected while the chunk is in the kernel.
  const script = `
    const { migrateBuffer, pageNodes } = require(${JSON.stringify(require.resolve('../dist/index.js'))});
    const view = new Uint8Array(256 * 2 ** 20).fill(1);
    const moving = migrateBuffer(view, pageNodes(view)[0], { chunkPages: 8192 });
    structuredClone(view.buffer, { transfer: [view.buffer] });
    gc();
    moving.then(
      (report) => console.log(JSON.stringify({ resolved: report.onNode })),
      (error) => console.log(JSON.stringify({ name: error.name, code: error.code, pages: error.report.pages, total: error.totalPages })),
    );`;
  const child = spawnSync(process.execPath, ['--expose-gc', '-e', script], { encoding: 'utf8', env: childEnv(), timeout: 60_000 });
  t.equal(child.status, 0, child.stderr);
  t.match(JSON.parse(child.stdout), { name: 'NumaError', code: 'EFAULT', pages: 0 });
  t.ok(JSON.parse(child.stdout).total >= 65536, "the whole span");
});

t.test('an empty view with countMoved reports moved and alreadyOnNode', async (t) => {
  const node = pageNodes(new Uint8Array(filledBuffer(PAGE)))[0];
  t.match(await migrateBuffer(new Uint8Array(0), node, { countMoved: true }), { pages: 0, moved: 0, alreadyOnNode: 0 });
  t.match(migrateBufferSync(new Uint8Array(0), node, { countMoved: true }), { pages: 0, moved: 0, alreadyOnNode: 0 });
});
