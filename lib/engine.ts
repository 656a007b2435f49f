// The migration engine: a view is split into chunks of whole huge-page-aligned
// page ranges, which run one after another (sync) or several at a time on the
// libuv pool (async), from one body (lib/sync-async.ts). Between chunks it
// reports progress and honours an AbortSignal; a chunk already in the kernel
// always finishes.
import { availableParallelism } from 'node:os';
import type { NativeMigrateResult } from '../types/binding';
import { native } from './binding';
import { type Pace, pacedSteps } from './pace';
import { all, type Body } from './sync-async';

export interface Progress {
  /** Pages spanned by the view. */
  pages: number;
  /** Pages handled so far (moved, already there, not present or failed). */
  done: number;
}

export interface Chunk {
  /** The bytes of the view in this chunk; its span is pages [firstPage, firstPage + pages) of the view's span. */
  view: Uint8Array;
  firstPage: number;
  pages: number;
}

// Pages per chunk at most when the caller sets none: progress and an abort
// come at least every 64 MiB of 4 KiB pages. The addon's constants.CHUNK_PAGES
// (kChunkPages in native/numa/span.h; test/binding.test.ts compares): a default
// chunk is one move_pages call, and its statuses fit the arrays each thread keeps.
export const MAX_DEFAULT_CHUNK_PAGES = 16384;

/** chunkPages rounded up to whole huge pages, so no transparent huge page is split between two chunks. */
export function alignedChunkPages(chunkPages: number): number {
  const perHugePage = Math.max(1, native.hugePageSize / native.pageSize);
  return Math.ceil(chunkPages / perHugePage) * perHugePage;
}

/**
 * Chunks of chunkPages pages (rounded up to whole huge pages) counted from the
 * huge page where the span starts, so that every boundary falls between two
 * huge pages and no huge page is split. Without chunkPages: one chunk per
 * lane, up to MAX_DEFAULT_CHUNK_PAGES. Every move_pages call has a fixed cost
 * in the kernel (it first drains every CPU's batches of new pages), so fewer,
 * larger calls are cheaper.
 */
export function planChunks(view: Uint8Array, chunkPages: number | undefined, lanes = 1): Chunk[] {
  const span = native.spanOf(view); // once: a native call costs more than the arithmetic
  const { start, pages } = span;
  const pageSize = BigInt(native.pageSize);
  const hugePage = BigInt(Math.max(native.hugePageSize, native.pageSize));
  const base = (start / hugePage) * hugePage;
  // Counted from `base`, so that a span starting inside a huge page gets no extra chunk.
  const fromBase = Number((start - base) / pageSize) + pages;
  const perChunk = alignedChunkPages(chunkPages ?? Math.max(1, Math.min(MAX_DEFAULT_CHUNK_PAGES, Math.ceil(fromBase / lanes))));
  const chunkBytes = BigInt(perChunk) * pageSize;
  const chunks: Chunk[] = [];
  let first = start;
  const end = start + BigInt(pages) * pageSize;
  while (first < end) {
    const next = base + ((first - base) / chunkBytes + 1n) * chunkBytes;
    const last = next < end ? next : end;
    chunks.push(chunkAt(view, span, Number((first - start) / pageSize), Number((last - first) / pageSize)));
    first = last;
  }
  return chunks;
}

/**
 * How many pages from page `first` of the span a paced call is offered: about
 * `window`, ending on a huge-page boundary (or at the span's end), so that a
 * huge page the call moves whole lies in it whole.
 */
export function windowPages(span: { start: bigint; pages: number }, first: number, window: number): number {
  if (first + window >= span.pages) return span.pages - first;
  const pageSize = BigInt(native.pageSize);
  const hugePage = BigInt(Math.max(native.hugePageSize, native.pageSize));
  const from = span.start + BigInt(first) * pageSize;
  let end = ((from + BigInt(window) * pageSize) / hugePage) * hugePage;
  if (end <= from) end += hugePage;
  return Math.min(span.pages - first, Number((end - from) / pageSize));
}

/** The chunk of the view's span (native.spanOf(view)) of `pages` pages from page `firstPage`. */
function chunkAt(view: Uint8Array, span: { address: bigint; start: bigint }, firstPage: number, pages: number): Chunk {
  const pageSize = BigInt(native.pageSize);
  const first = span.start + BigInt(firstPage) * pageSize;
  const from = first > span.address ? Number(first - span.address) : 0;
  const to = Math.min(view.byteLength, Number(first + BigInt(pages) * pageSize - span.address));
  return { view: new Uint8Array(view.buffer, view.byteOffset + from, to - from), firstPage, pages };
}

/**
 * One pool thread stays free for fs, dns and crypto work, and one CPU for the
 * event loop (in a 2-CPU guest two chunks in flight delayed it noticeably).
 * A view of one huge page or less gets one lane: a second chunk would only add
 * a move_pages call's fixed cost, and counting this thread's CPUs is a system call.
 */
export function defaultConcurrency(viewBytes: number): number {
  if (viewBytes <= Math.max(native.hugePageSize, native.pageSize)) return 1;
  const poolSize = Number(process.env.UV_THREADPOOL_SIZE) || 4;
  return Math.max(1, Math.min(poolSize - 1, availableParallelism() - 1));
}

/** What the chunks done so far add up to: the native result's fields, `failed` over the whole span. */
export type MigrationTotals = Omit<NativeMigrateResult, 'failed' | 'elsewhere' | 'pages' | 'callNs'> & {
  /** The pages elsewhere after the move, by final status: their indexes in the span, ascending. */
  failed: Map<number, number[]>;
  /** The same pages by the node they are on (those on one). */
  elsewhere: Map<number, number>;
};

/** The results of the chunks done so far: counts summed, statuses (when wanted) and failed pages placed over the span. */
export class Assembly {
  static forChunks(chunks: Chunk[], wantStatus: boolean): Assembly {
    return new Assembly(
      chunks.reduce((sum, chunk) => sum + chunk.pages, 0),
      wantStatus,
    );
  }

  readonly status: Int32Array | undefined;
  onNode = 0;
  moved: number | undefined;
  notPresent = 0;
  hidden = 0;
  hugePages = 0;
  calls = 0;
  done = 0;
  readonly elsewhere = new Map<number, number>();
  private readonly finished: { chunk: Chunk; failed: NativeMigrateResult['failed'] }[] = [];

  constructor(
    readonly pages: number,
    wantStatus: boolean,
  ) {
    this.status = wantStatus ? new Int32Array(pages) : undefined;
  }

  add(chunk: Chunk, result: NativeMigrateResult): void {
    this.onNode += result.onNode;
    if (result.moved !== undefined) this.moved = (this.moved ?? 0) + result.moved;
    this.notPresent += result.notPresent;
    this.hidden += result.hidden;
    this.hugePages += result.hugePages;
    this.calls += result.calls;
    if (this.status && result.status) this.status.set(result.status, chunk.firstPage);
    for (const [node, pages] of Object.entries(result.elsewhere ?? {})) this.elsewhere.set(Number(node), (this.elsewhere.get(Number(node)) ?? 0) + pages);
    this.done += chunk.pages;
    this.finished.push({ chunk, failed: result.failed });
  }

  result(elapsedNs: number): MigrationTotals {
    return this.totals(elapsedNs, false);
  }

  /** The results of the finished chunks only, as if the view were just those pages. */
  finishedResult(elapsedNs: number): MigrationTotals {
    return this.totals(elapsedNs, true);
  }

  /** The finished chunks in span order, their pages numbered in the span or, `finishedOnly`, among theirs. */
  private totals(elapsedNs: number, finishedOnly: boolean): MigrationTotals {
    const { onNode, moved, notPresent, hidden, hugePages, calls, status, elsewhere } = this;
    const failed = new Map<number, number[]>();
    const picked = finishedOnly && status ? new Int32Array(this.done) : undefined;
    let offset = 0;
    // In span order: lanes finish their chunks in any order.
    if (this.finished.length > 1) this.finished.sort((a, b) => a.chunk.firstPage - b.chunk.firstPage);
    for (const { chunk, failed: chunkFailed } of this.finished) {
      const first = finishedOnly ? offset : chunk.firstPage;
      picked?.set(status!.subarray(chunk.firstPage, chunk.firstPage + chunk.pages), offset);
      for (const [code, indexes] of Object.entries(chunkFailed)) {
        const pages = failed.get(Number(code)) ?? [];
        for (const index of indexes) pages.push(first + index);
        failed.set(Number(code), pages);
      }
      offset += chunk.pages;
    }
    return { onNode, moved, notPresent, failed, elsewhere: new Map([...elsewhere].sort((a, b) => a[0] - b[0])), hidden, hugePages, calls, elapsedNs, status: picked ?? status };
  }
}

export interface RunOptions {
  concurrency: number;
  onProgress?: (progress: Progress) => void;
  signal?: AbortSignal;
  /** The error to stop with when the caller gave the view's memory away (checked around every chunk), else undefined. */
  memoryGone: () => unknown;
}

/** Stops the chunks with the caller's error when the view's memory was given away. */
function checkMemory(options: RunOptions): void {
  const gone = options.memoryGone();
  if (gone !== undefined) throw gone;
}

/** Thrown when the signal stops a migration between chunks, with the results of the chunks that ran. */
export class Aborted {
  constructor(readonly assembly: Assembly, readonly reason: unknown) {}
}

/** The chunks of one migration and how far its lanes have got. */
interface Run {
  chunks: Chunk[];
  assembly: Assembly;
  move: (chunk: Chunk) => Body<NativeMigrateResult>;
  options: RunOptions;
  /** The next chunk a lane takes. */
  next: number;
  /** The first error of any lane: no chunk starts after it. */
  failure?: { error: unknown };
}

/**
 * One lane: chunk after chunk until none is left, an error or an abort. A
 * function of its own, not a generator closure inside runChunks(): V8 keeps
 * what such closures allocate alive for several collections.
 */
function* lane(run: Run): Body<void> {
  const { chunks, assembly, options } = run;
  while (run.next < chunks.length && run.failure === undefined && options.signal?.aborted !== true) {
    const chunk = chunks[run.next++];
    try {
      checkMemory(options);
      const result = yield* run.move(chunk);
      // Given away while this chunk ran: its result may describe someone else's memory.
      checkMemory(options);
      assembly.add(chunk, result);
      options.onProgress?.({ pages: assembly.pages, done: assembly.done });
    } catch (error) {
      run.failure ??= { error };
    }
  }
}

/**
 * Runs the chunks, up to `concurrency` at once: the Promise form on the libuv
 * pool, the synchronous one (one lane) in order on the calling thread. `move`
 * is the body of one chunk's move. On an error or an abort no new chunk
 * starts; the ones in flight finish first. The memory is checked before each
 * chunk and after it: the caller can give it away (transfer or resize the
 * buffer) while the move runs, or in onProgress.
 */
export function* runChunks(chunks: Chunk[], assembly: Assembly, move: (chunk: Chunk) => Body<NativeMigrateResult>, options: RunOptions): Body<void> {
  const run: Run = { chunks, assembly, move, options, next: 0 };
  const lanes = Math.min(options.concurrency, chunks.length);
  // One lane (the synchronous form, a small view) runs in this body: no lane of its own to drive.
  if (lanes === 1) yield* lane(run);
  else yield all(Array.from({ length: lanes }, () => lane(run)));
  if (run.failure) throw run.failure.error;
  if (options.signal?.aborted && assembly.done < assembly.pages) throw new Aborted(assembly, options.signal.reason);
}

/**
 * Runs a paced migration of the view (see lib/pace.ts): one call at a time, each
 * offered the pages from where the last ended and moving as many as `pace`
 * allows, with pauses between calls. `move` is the body of one call; each
 * call's chunk, the pages it handled, is added to the assembly and to `done`.
 */
export function* runPaced(
  view: Uint8Array,
  assembly: Assembly,
  move: (chunk: Chunk, moves: number) => Body<NativeMigrateResult>,
  options: RunOptions,
  pace: Pace,
  done: Chunk[],
): Body<void> {
  const span = native.spanOf(view);
  yield* pacedSteps(pace, options.signal, function* ({ window, moves }) {
    checkMemory(options);
    const first = assembly.done;
    const result = yield* move(chunkAt(view, span, first, windowPages(span, first, window)), moves);
    checkMemory(options);
    // A paced call handles one page at least (the addon's contract): no step can repeat itself.
    if (!result.pages) throw new Error(`numaplace internal error: a paced move_pages call handled no page of ${span.pages - first}`);
    const chunk = chunkAt(view, span, first, result.pages);
    assembly.add(chunk, result);
    done.push(chunk);
    options.onProgress?.({ pages: assembly.pages, done: assembly.done });
    const failed = Object.values(result.failed).reduce((sum, pages) => sum + pages.length, 0);
    const moved = result.moved ?? 0;
    return { more: assembly.done < span.pages, handled: chunk.pages, moved, tried: moved + failed, callNs: result.callNs ?? new Float64Array() };
  }, span.pages > 0);
  if (options.signal?.aborted && assembly.done < assembly.pages) throw new Aborted(assembly, options.signal.reason);
}
