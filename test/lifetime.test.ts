// Memory a caller gives away while numaplace works on it: a buffer transferred,
// detached or shrunk during a migration, the arrays of a raw query function
// detached. Each must end in a coded error that names the public function and
// carries what was done, never in a success report or a crash.
import { spawnSync } from 'node:child_process';
import t from 'tap';
import { native } from '../lib/binding';
import { allocOnNode, migrateBuffer, migrateBufferSync, MigrationFailedError, type MigrationReport, movePages, movePagesSync, pageNodes } from '../lib/index';
import { childEnv, filledBuffer, memoryNodeIds } from './helpers';

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

/** What `promise` rejects with (undefined when it resolves). */
const rejection = (promise: Promise<unknown>): Promise<unknown> => promise.then(() => undefined, (caught: unknown) => caught);

/** A progress callback that transfers the view's buffer away when first called; done(): the pages done by then. */
function transferOnFirstProgress(view: Uint8Array<ArrayBuffer>) {
  let done = 0;
  const onProgress = (progress: { done: number }) => {
    if (done === 0) structuredClone(view.buffer, { transfer: [view.buffer] });
    done ||= progress.done;
  };
  return { onProgress, done: () => done };
}

t.test('a buffer transferred while migrateBuffer runs: EFAULT with the report of the chunks done', async (t) => {
  const view = new Uint8Array(filledBuffer(BYTES));
  const node = pageNodes(view)[0];
  const moving = migrateBuffer(view, node, { chunkPages: CHUNK, concurrency: 1 });
  // The first chunk is in the kernel (or queued for it) now.
  const kept = structuredClone(view.buffer, { transfer: [view.buffer] });
  const error = await rejection(moving);
  t.type(error, MigrationFailedError);
  t.match(error, givenAway('migrateBuffer'));
  const { report, totalPages } = error as MigrationFailedError;
  t.ok(totalPages >= BYTES / PAGE, `the whole span: ${totalPages} pages`);
  t.equal(report.pages, 0, 'the chunk that ran while the memory went away does not count');
  t.ok(addsUp(report));
  t.equal(kept.byteLength, BYTES, 'the memory went to the clone');
});

t.test('a buffer transferred during a paced migration: EFAULT with the report of the calls done, sync and async', async (t) => {
  for (const [fn, run] of Object.entries({
    migrateBuffer: (view: Uint8Array, node: number, onProgress: (progress: { done: number }) => void) => migrateBuffer(view, node, { maxCallMs: 1, status: true, onProgress }),
    migrateBufferSync: async (view: Uint8Array, node: number, onProgress: (progress: { done: number }) => void) =>
      migrateBufferSync(view, node, { maxCallMs: 1, status: true, onProgress }),
  })) {
    const view = new Uint8Array(filledBuffer(BYTES));
    const node = pageNodes(view)[0];
    // After the first paced call: the next one would start on memory that is no longer the view's.
    const transfer = transferOnFirstProgress(view);
    const error = await rejection(run(view, node, transfer.onProgress));
    t.match(error, givenAway(fn), fn);
    const { report } = error as MigrationFailedError;
    const done = transfer.done();
    t.ok(done > 0 && done < BYTES / PAGE, `${fn}: ${done} pages handled by the first call, before the transfer`);
    t.equal(report.pages, done, `${fn}: the report covers those`);
    t.equal(report.status?.length, done, `${fn}: statuses only for the pages asked of the kernel`);
    t.ok(addsUp(report), fn);
  }
});

t.test('a buffer transferred between chunks: no chunk starts on it, the done ones are reported', async (t) => {
  const view = new Uint8Array(filledBuffer(BYTES));
  const node = pageNodes(view)[0];
  const transfer = transferOnFirstProgress(view);
  const error = await rejection(migrateBuffer(view, node, { chunkPages: CHUNK, concurrency: 1, status: true, onProgress: transfer.onProgress }));
  t.match(error, givenAway('migrateBuffer'));
  const { report } = error as MigrationFailedError;
  const done = transfer.done();
  t.ok(done > 0 && done < BYTES / PAGE, `one chunk of ${done} pages was done before the transfer`);
  t.equal(report.pages, done);
  t.equal(report.onNode, done, 'and its pages are on the node');
  t.equal(report.status?.length, done, 'statuses only for the pages asked of the kernel');
  t.ok(addsUp(report));

  const sync = new Uint8Array(filledBuffer(BYTES));
  const syncTransfer = transferOnFirstProgress(sync);
  const thrown = t.throws(() => migrateBufferSync(sync, node, { chunkPages: CHUNK, onProgress: syncTransfer.onProgress }), givenAway('migrateBufferSync')) as unknown;
  t.equal((thrown as MigrationFailedError).report.pages, syncTransfer.done());
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
  const error = await rejection(migrateBuffer(view, node, { chunkPages: CHUNK, concurrency: 1, status: true, onProgress: shrink }));
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

t.test('a growable SharedArrayBuffer grown during a migration: measured once, no false EFAULT', async (t) => {
  // ES2024's growable SharedArrayBuffer, which Node 20 has and the ES2022 typings do not.
  const Growable = SharedArrayBuffer as unknown as new (bytes: number, options: { maxByteLength: number }) => SharedArrayBuffer & { grow(bytes: number): void };
  const buffer = new Growable(BYTES, { maxByteLength: 2 * BYTES });
  const view = new Uint8Array(buffer).fill(3); // tracks the buffer's length
  const node = pageNodes(view)[0];
  const pages = pageNodes(view).length;
  const grown = await migrateBuffer(view, node, { chunkPages: CHUNK, concurrency: 1, onProgress: () => buffer.grow(2 * BYTES) });
  t.equal(grown.pages, pages, 'the pages it had when the call began');
  t.equal(grown.onNode, pages);
  t.ok(addsUp(grown));
  t.equal(view.byteLength, 2 * BYTES, 'and it did grow');
});

t.test('the raw async exports: a view detached while they run rejects with EFAULT', async (t) => {
  const calls = {
    migrateAsync: (view: Uint8Array, node: number) => native.migrateAsync(view, node, {}),
    movePagesAsync: (view: Uint8Array, node: number) => native.movePagesAsync(view, new Int32Array(native.spanOf(view).pages).fill(node), {}),
  };
  for (const [name, call] of Object.entries(calls)) {
    const view = new Uint8Array(filledBuffer(BYTES));
    const moving = call(view, pageNodes(view)[0]);
    structuredClone(view.buffer, { transfer: [view.buffer] });
    await t.rejects(moving, { code: 'EFAULT', errno: -14, syscall: 'move_pages' }, name);
  }
});

t.test('the raw query function: its arrays detached after it was made', async (t) => {
  const scratch = new Int32Array(8);
  const counts = new Float64Array(2);
  const query = native.pageQuery(scratch, counts);
  // A page with a policy of its own, which NUMA balancing leaves alone between the two queries.
  const memory = new Uint8Array(allocOnNode(PAGE, memoryNodeIds().at(-1)!).fill(1));
  t.equal(query(memory), undefined, 'a query into the scratch array');
  t.equal(scratch[0], pageNodes(memory)[0]);
  structuredClone(scratch.buffer, { transfer: [scratch.buffer] });
  t.throws(() => query(memory), { name: 'TypeError', message: /^queryPages: the scratch or counts array .* was detached/ });
  const other = native.pageQuery(new Int32Array(8), counts);
  structuredClone(counts.buffer, { transfer: [counts.buffer] });
  t.throws(() => other(memory), { name: 'TypeError', message: /detached/ }, 'the counts array too');
});

t.test('memory freed by the GC under a running move: a rejection, no crash, from every async export and function', async (t) => {
  // The clone that took the memory is dropped and collected while the move is in the kernel.
  const script = `
    const { native } = require(${JSON.stringify(require.resolve('../dist/binding.js'))});
    const { migrateBuffer, movePages, pageNodes } = require(${JSON.stringify(require.resolve('../dist/index.js'))});
    const everyPage = (view, node) => new Int32Array(native.spanOf(view).pages).fill(node);
    const calls = {
      migrateAsync: (view, node) => native.migrateAsync(view, node, {}),
      movePagesAsync: (view, node) => native.movePagesAsync(view, everyPage(view, node), {}),
      migrateBuffer: (view, node) => migrateBuffer(view, node, { chunkPages: 8192 }),
      movePages: (view, node) => movePages(view, everyPage(view, node)),
    };
    (async () => {
      const outcomes = {};
      for (const [name, call] of Object.entries(calls)) {
        const view = new Uint8Array(64 * 2 ** 20).fill(1);
        const moving = call(view, pageNodes(view)[0]);
        structuredClone(view.buffer, { transfer: [view.buffer] });
        gc();
        outcomes[name] = await moving.then(
          () => 'resolved',
          (error) => ({ name: error.name, code: error.code, pages: error.report?.pages, total: error.totalPages }),
        );
      }
      console.log(JSON.stringify(outcomes));
    })();`;
  const child = spawnSync(process.execPath, ['--expose-gc', '-e', script], { encoding: 'utf8', env: childEnv(), timeout: 120_000 });
  t.equal(child.status, 0, child.stderr);
  const outcomes = JSON.parse(child.stdout);
  t.match(outcomes, {
    migrateAsync: { name: 'Error', code: 'EFAULT' },
    movePagesAsync: { name: 'Error', code: 'EFAULT' },
    migrateBuffer: { name: 'NumaError', code: 'EFAULT', pages: 0 },
    movePages: { name: 'NumaError', code: 'EFAULT' },
  });
  t.ok(outcomes.migrateBuffer.total >= (64 * 2 ** 20) / PAGE, 'the report of migrateBuffer: none of the whole span done');
});

t.test('a buffer detached before the call: a coded TypeError from every function that takes memory', async (t) => {
  const detached = () => {
    const view = new Uint8Array(filledBuffer(PAGE));
    structuredClone(view.buffer, { transfer: [view.buffer] });
    return view;
  };
  const refused = (fn: string, arg = 'view') => ({
    name: 'TypeError',
    code: 'ERR_INVALID_STATE',
    message: new RegExp(`^${fn}: \`${arg}\` is backed by a detached ArrayBuffer`),
  });
  await t.rejects(migrateBuffer(detached(), 0), refused('migrateBuffer'));
  t.throws(() => migrateBufferSync(detached(), 0), refused('migrateBufferSync'));
  await t.rejects(movePages(detached(), new Int32Array(1)), refused('movePages'));
  const live = new Uint8Array(filledBuffer(PAGE));
  const targets = new Int32Array(native.spanOf(live).pages);
  structuredClone(targets.buffer, { transfer: [targets.buffer] });
  t.throws(() => movePagesSync(live, targets), refused('movePagesSync', 'targets'));
  t.throws(() => pageNodes(detached()), refused('pageNodes'));
  const dataView = new DataView(new ArrayBuffer(PAGE));
  structuredClone(dataView.buffer, { transfer: [dataView.buffer] });
  t.throws(() => pageNodes(dataView), refused('pageNodes'), 'a DataView too (its fields throw once detached)');
});

t.test('an empty view with countMoved reports moved and alreadyOnNode', async (t) => {
  const node = pageNodes(new Uint8Array(filledBuffer(PAGE)))[0];
  t.match(await migrateBuffer(new Uint8Array(0), node, { countMoved: true }), { pages: 0, moved: 0, alreadyOnNode: 0 });
  t.match(migrateBufferSync(new Uint8Array(0), node, { countMoved: true }), { pages: 0, moved: 0, alreadyOnNode: 0 });
});
