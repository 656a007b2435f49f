import { getSystemErrorName } from 'node:util';
import type { QueryPages } from '../types/binding';
import { native } from './binding';
import { booleanOption, byteView, integerArgument, type MemoryView, optionsArgument } from './checks';
import { callNative, translate } from './errors';

/**
 * pageNodes() status of a page the process has no page of its own for: never
 * written, swapped out, or only the shared zero page (a read of a never-written
 * page). The kernel says -ENOENT (Linux 6.2+) or -EFAULT (6.1) for these;
 * numaplace checks /proc/self/pagemap and always reports -ENOENT (-2). The
 * addon's constants.PAGE_NOT_PRESENT, copied for where it cannot load.
 */
export const PAGE_NOT_PRESENT = -2;

/**
 * pageNodes() status of a present page whose node is unknown: automatic NUMA
 * balancing made it inaccessible, so the kernel's query does not show it, and
 * reading its node without touching it (which could move it) needs the frame
 * numbers /proc/self/pagemap shows only with CAP_SYS_ADMIN. -4096 is never an
 * errno. The addon's constants.PAGE_HIDDEN, copied for where it cannot load.
 */
export const PAGE_HIDDEN = -4096;

/** A page status decoded: on a node, not present, or an error code from the kernel. */
export type PageState =
  | { kind: 'node'; node: number }
  | { kind: 'not-present' }
  | { kind: 'hidden' }
  | { kind: 'error'; code: string; errno: number };

/**
 * Decodes one entry of pageNodes()/movePages() status arrays.
 *
 * @param status - One entry of a status array.
 * @throws TypeError for a value that is not an integer.
 *
 * @example
 * console.log(describePage(pageNodes(buffer)[0])); // { kind: 'node', node: 0 }
 */
export function describePage(status: number): PageState {
  integerArgument(status, 'describePage', 'status', 'an integer page status');
  if (status >= 0) return { kind: 'node', node: status };
  if (status === PAGE_NOT_PRESENT) return { kind: 'not-present' };
  if (status === PAGE_HIDDEN) return { kind: 'hidden' };
  return { kind: 'error', code: getSystemErrorName(status), errno: status };
}

export interface PageNodesOptions {
  /** Give every page of the span a page of its own first (data unchanged; MADV_POPULATE_WRITE, Linux 5.14+). */
  prefault?: boolean;
}

/** Gives each page of the view a page of its own without changing the data. */
export function prefaultView(view: Uint8Array, fn: string): void {
  callNative(fn, () => `to prefault a view of ${view.byteLength} bytes`, () => native.prefault(view));
}

// Out-parameters of the native query (sync, so one set per environment is
// enough): small spans are written into the scratch array and copied out,
// which costs less than the native side allocating a new array; [hidden pages,
// pages]. The query function bound to them is made on first use, not on
// import: where the addon cannot load, importing numaplace still works.
// Another copy of this module that loaded the same addon has its own.
const scratch = new Int32Array(64);
const counts = new Float64Array(2);
let queryPages: QueryPages | undefined;

/** The view, its page statuses and hidden count, with errors naming the public function `fn`. */
export function queryView(value: MemoryView, options: PageNodesOptions | undefined, fn: string) {
  const view = byteView(value, fn);
  if (options !== undefined) {
    const { prefault } = optionsArgument(options, fn, ['prefault']);
    if (booleanOption(prefault, fn, 'prefault')) prefaultView(view, fn);
  }
  // Not callNative(): its two closures would be allocations on the 1-page query's hot path (benchmarks/README.md).
  let result: Int32Array | undefined;
  try {
    queryPages ??= native.pageQuery(scratch, counts);
    result = queryPages(view);
  } catch (error) {
    throw translate(error, fn, `for a view of ${view.byteLength} bytes`);
  }
  return { view, status: result ?? copyOfScratch(counts[1]), hidden: counts[0] };
}

// A new array with the first `length` statuses of the scratch array. Not
// scratch.slice(): right after the syscall its builtin costs a 1-page query
// more than this loop does (benchmarks/README.md).
function copyOfScratch(length: number): Int32Array {
  const status = new Int32Array(length);
  for (let page = 0; page < length; page++) status[page] = scratch[page];
  return status;
}

/**
 * Where each page spanned by `view` lives: one entry per page (including the
 * partial first and last pages it shares with other data), the node id or a
 * negative errno (PAGE_NOT_PRESENT for a page not yet populated, PAGE_HIDDEN).
 * Never touches the pages: a query moves nothing.
 *
 * @param view - A Buffer, TypedArray, DataView, ArrayBuffer or SharedArrayBuffer; its whole pages count.
 * @param options - `prefault`.
 * @throws TypeError for a view of another type or over a detached buffer or options; NumaError EINVAL (madvise) for `prefault` before Linux 5.14.
 *
 * @example
 * const status = pageNodes(buffer); // Int32Array [0, 0, 1, …], PAGE_NOT_PRESENT for unwritten pages
 */
export function pageNodes(view: MemoryView, options?: PageNodesOptions): Int32Array {
  return queryView(view, options, 'pageNodes').status;
}

export interface Placement {
  /** Pages spanned by the view. */
  pages: number;
  /** Page-aligned addresses of the span: [start, end). */
  byteSpan: { start: bigint; end: bigint };
  /** Present pages per node id. */
  byNode: Map<number, number>;
  /** Pages with no page of their own yet (never written, or only read: the zero page). */
  notPresent: number;
  /** Pages the kernel reported an error for, by code. */
  errors: Map<string, number>;
  /** Present pages NUMA balancing hid from the kernel's query (counted in byNode when their node was read). */
  hidden: number;
  /** Hidden pages whose node could not be read without CAP_SYS_ADMIN (PAGE_HIDDEN). */
  nodeUnknown: number;
}

export function increment<K>(counts: Map<K, number>, key: K, by = 1): void {
  counts.set(key, (counts.get(key) ?? 0) + by);
}

/**
 * A summary of where the pages spanned by `view` live.
 *
 * @param view - A Buffer, TypedArray, DataView, ArrayBuffer or SharedArrayBuffer; its whole pages count.
 * @param options - `prefault`.
 * @throws The errors of pageNodes().
 *
 * @example
 * const { pages, byNode, notPresent } = placement(buffer); // byNode: Map { node => pages }
 */
export function placement(view: MemoryView, options?: PageNodesOptions): Placement {
  const { view: bytes, status, hidden } = queryView(view, options, 'placement');
  const span = native.spanOf(bytes);
  const byNode = new Map<number, number>();
  const errors = new Map<string, number>();
  let notPresent = 0;
  let nodeUnknown = 0;
  for (const entry of status) {
    if (entry >= 0) increment(byNode, entry);
    else if (entry === PAGE_NOT_PRESENT) notPresent++;
    else if (entry === PAGE_HIDDEN) nodeUnknown++;
    else increment(errors, getSystemErrorName(entry));
  }
  const end = span.start + BigInt(span.pages) * BigInt(native.pageSize);
  return { pages: status.length, byteSpan: { start: span.start, end }, byNode, notPresent, errors, hidden, nodeUnknown };
}
