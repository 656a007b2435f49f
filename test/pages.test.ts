import { constants } from 'node:os';
import t from 'tap';
import { describePage, PAGE_HIDDEN, PAGE_NOT_PRESENT, pageNodes, placement, topology } from '../lib/index';
import { checksum, filledBuffer, freshMemory, readMapsZeroPage, tally } from './helpers';

const PAGE = topology().pageSize;
const nodeIds = new Set(topology().nodes.map((node) => node.id));
const onNodes = (status: Int32Array) => status.every((entry) => nodeIds.has(entry));

t.test('written pages are on a node', async (t) => {
  const buffer = filledBuffer(64 * PAGE);
  const status = pageNodes(buffer);
  t.ok(status instanceof Int32Array);
  t.ok(status.length === 64 || status.length === 65, `${status.length} pages for 64 pages of bytes`);
  t.ok(onNodes(status), `all pages on a node: ${JSON.stringify(tally(status))}`);
});

t.test('never-written memory is not present; prefault populates it without changing data', async (t) => {
  const inner = freshMemory(16 * 2 ** 20);
  const status = pageNodes(inner);
  t.equal(tally(status)[PAGE_NOT_PRESENT], status.length, 'every page reports PAGE_NOT_PRESENT');
  const read = inner[PAGE * 10]; // maps the shared zero page, where the kernel has one: not the buffer's own
  t.equal(read, 0);
  if (readMapsZeroPage()) t.equal(pageNodes(inner)[10], PAGE_NOT_PRESENT, 'a page only read maps the zero page: not present');
  else t.ok(pageNodes(inner)[10] >= 0, 'this kernel has no zero page: a page only read has a page of its own, on a node');
  const before = checksum(inner);
  const populated = pageNodes(inner, { prefault: true });
  t.ok(onNodes(populated), `after prefault: ${JSON.stringify(tally(populated))}`);
  t.equal(checksum(inner), before, 'prefault leaves the data unchanged');
});

t.test('describePage decodes statuses', async (t) => {
  t.same(describePage(3), { kind: 'node', node: 3 });
  t.same(describePage(PAGE_NOT_PRESENT), { kind: 'not-present' });
  t.same(describePage(-constants.errno.EFAULT), { kind: 'error', code: 'EFAULT', errno: -constants.errno.EFAULT });
  t.same(describePage(-constants.errno.EACCES), { kind: 'error', code: 'EACCES', errno: -constants.errno.EACCES });
});

t.test('every kind of view is accepted and measured by the pages it spans', async (t) => {
  const buffer = filledBuffer(8 * PAGE);
  const views = {
    Buffer: buffer,
    ArrayBuffer: buffer.buffer,
    SharedArrayBuffer: new SharedArrayBuffer(8 * PAGE),
    Float64Array: new Float64Array(buffer.buffer, 0, PAGE), // 8 bytes each: the whole buffer
    DataView: new DataView(buffer.buffer),
  };
  for (const [kind, view] of Object.entries(views)) {
    const where = placement(view);
    const pages = Number(where.byteSpan.end - where.byteSpan.start) / PAGE;
    t.equal(where.pages, pages, `${kind}: pages match the byte span`);
    t.ok(pages === 8 || pages === 9, `${kind}: ${pages} pages`);
    t.equal(where.byteSpan.start % BigInt(PAGE), 0n, `${kind}: span starts on a page`);
  }
});

t.test('a small view in the middle of a pooled Buffer reports the pages it shares', async (t) => {
  const pooled = Buffer.from('a small string lives in the shared pool');
  t.ok(pooled.byteOffset > 0 || pooled.buffer.byteLength > pooled.length, 'Buffer.from uses the pool');
  const where = placement(pooled);
  t.equal(where.pages, 1 + Number(where.byteSpan.end - where.byteSpan.start > BigInt(PAGE)), 'one or two pages');
  t.ok(where.byteSpan.end - where.byteSpan.start >= BigInt(PAGE), 'a whole page although the view is 39 bytes');
  // Find the first page boundary inside a buffer by where 1-byte views start,
  // then check views that end just before, cross, and start at it.
  const big = filledBuffer(4 * PAGE);
  const pageOf = (offset: number) => placement(big.subarray(offset, offset + 1)).byteSpan.start;
  let boundary = 0;
  while (pageOf(boundary) === pageOf(0)) boundary++;
  t.ok(boundary > 0 && boundary <= PAGE, `first boundary at offset ${boundary}`);
  t.equal(placement(big.subarray(boundary - 4, boundary)).pages, 1, '4 bytes ending at a boundary: 1 page');
  t.equal(placement(big.subarray(boundary - 2, boundary + 2)).pages, 2, '4 bytes across a boundary: 2 pages');
  t.equal(placement(big.subarray(boundary, boundary + PAGE)).pages, 1, 'one page from a boundary: 1 page');
});

t.test('zero-length views give empty results', async (t) => {
  t.same(pageNodes(Buffer.alloc(0)), new Int32Array(0));
  t.same(pageNodes(new ArrayBuffer(0)), new Int32Array(0));
  const where = placement(new Uint8Array(0));
  t.equal(where.pages, 0);
  t.equal(where.byNode.size, 0);
});

t.test('bad arguments throw before any syscall', async (t) => {
  for (const bad of [undefined, null, 42, 'text', {}, [1, 2]]) {
    t.throws(() => pageNodes(bad as unknown as Buffer), { name: 'TypeError', message: /pageNodes: expected a Buffer/ });
  }
  t.throws(() => pageNodes(undefined as unknown as Buffer), { message: /but received undefined$/ });
  t.throws(() => pageNodes(Buffer.alloc(8), 'x' as unknown as object), { name: 'TypeError', message: /options/ });
  t.throws(() => pageNodes(Buffer.alloc(8), { prefault: 1 as unknown as boolean }), {
    name: 'TypeError',
    message: /options\.prefault/,
  });
  const detached = new ArrayBuffer(PAGE);
  const view = new Uint16Array(detached);
  structuredClone(detached, { transfer: [detached] });
  t.throws(() => pageNodes(detached), { name: 'TypeError', message: /pageNodes: `view` is backed by a detached ArrayBuffer/ });
  t.throws(() => placement(view), { name: 'TypeError', message: /placement: `view` is backed by a detached/ });
});

t.test('two copies of the package in one process, one addon: each answers for its own views', async (t) => {
  // A bundle and node_modules, or the compiled tests and dist/, can each load lib/pages.js while
  // the addon, loaded from one file, is shared: their out-arrays must not cross.
  const entry = require.resolve('../dist/pages.js');
  const first = require(entry) as typeof import('../lib/pages');
  delete require.cache[entry];
  const second = require(entry) as typeof import('../lib/pages');
  t.not(first, second, 'two module instances');
  const small = filledBuffer(3 * PAGE + 1, 1).subarray(0, 2 * PAGE);
  const large = filledBuffer(9 * PAGE, 2);
  // Lengths and nodes, not equality: NUMA balancing may hide or move a page between two queries.
  const answer = (status: Int32Array) => ({ pages: status.length, onNodes: status.every((entry) => entry >= 0 || entry === PAGE_HIDDEN) });
  const expected = { small: answer(pageNodes(small)), large: answer(pageNodes(large)) };
  for (let round = 0; round < 3; round++) {
    t.same(answer(first.pageNodes(small)), expected.small, `round ${round}: the first copy, ${expected.small.pages} pages`);
    t.same(answer(second.pageNodes(large)), expected.large, `round ${round}: the second copy, ${expected.large.pages} pages`);
  }
});
