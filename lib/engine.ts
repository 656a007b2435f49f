// The migration engine: a view is split into chunks of whole huge-page-aligned
// page ranges, which run one after another (sync) or several at a time on the
// libuv pool (async). Between chunks it reports progress and honours an
// AbortSignal; a chunk already in the kernel always finishes.
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import type { NativeMigrateResult } from '../types/binding';
import { native } from './binding';

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

let hugePageSize: number | undefined;

/** The THP size, fixed for the boot: read once, not on every migration. */
function hugePageBytes(): number {
  if (hugePageSize === undefined) {
    try {
      hugePageSize = Number(readFileSync('/sys/kernel/mm/transparent_hugepage/hpage_pmd_size', 'utf8')) || 2 * 2 ** 20;
    } catch {
      hugePageSize = 2 * 2 ** 20;
    }
  }
  return hugePageSize;
}

/** chunkPages rounded up to whole huge pages, so no transparent huge page is split between two chunks. */
export function alignedChunkPages(chunkPages: number): number {
  const perHugePage = Math.max(1, hugePageBytes() / native.pageSize);
  return Math.ceil(chunkPages / perHugePage) * perHugePage;
}

/** Chunks whose boundaries are at addresses that are multiples of chunkPages pages. */
export function planChunks(view: Uint8Array, chunkPages: number): Chunk[] {
  const { address, start, pages } = native.spanOf(view);
  const pageSize = BigInt(native.pageSize);
  const chunkBytes = BigInt(chunkPages) * pageSize;
  const chunks: Chunk[] = [];
  let first = start;
  const end = start + BigInt(pages) * pageSize;
  while (first < end) {
    const next = (first / chunkBytes + 1n) * chunkBytes;
    const last = next < end ? next : end;
    const from = first > address ? Number(first - address) : 0;
    const to = Math.min(view.byteLength, Number(last - address));
    chunks.push({
      view: new Uint8Array(view.buffer, view.byteOffset + from, to - from),
      firstPage: Number((first - start) / pageSize),
      pages: Number((last - first) / pageSize),
    });
    first = last;
  }
  return chunks;
}

/**
 * One pool thread stays free for fs, dns and crypto work, and one CPU for the
 * event loop (in a 2-CPU guest two chunks in flight delayed it by tens of ms).
 */
export function defaultConcurrency(): number {
  const poolSize = Number(process.env.UV_THREADPOOL_SIZE) || 4;
  return Math.max(1, Math.min(poolSize - 1, availableParallelism() - 1));
}

/** The per-page results of all chunks done so far, in one pair of arrays over the whole span. */
export class Assembly {
  static forChunks(chunks: Chunk[]): Assembly {
    return new Assembly(chunks.reduce((sum, chunk) => sum + chunk.pages, 0));
  }

  readonly before: Int32Array;
  readonly status: Int32Array;
  hidden = 0;
  done = 0;
  private readonly finished: Chunk[] = [];

  constructor(readonly pages: number) {
    this.before = new Int32Array(pages);
    this.status = new Int32Array(pages);
  }

  add(chunk: Chunk, result: NativeMigrateResult): void {
    this.before.set(result.before, chunk.firstPage);
    this.status.set(result.status, chunk.firstPage);
    this.hidden += result.hidden;
    this.done += chunk.pages;
    this.finished.push(chunk);
  }

  result(elapsedNs: number): NativeMigrateResult {
    return { before: this.before, status: this.status, hidden: this.hidden, elapsedNs };
  }

  /** The results of the finished chunks only, as if the view were just those pages. */
  finishedResult(elapsedNs: number): NativeMigrateResult {
    const pick = (all: Int32Array) => {
      const picked = new Int32Array(this.done);
      let offset = 0;
      for (const chunk of [...this.finished].sort((a, b) => a.firstPage - b.firstPage)) {
        picked.set(all.subarray(chunk.firstPage, chunk.firstPage + chunk.pages), offset);
        offset += chunk.pages;
      }
      return picked;
    };
    return { before: pick(this.before), status: pick(this.status), hidden: this.hidden, elapsedNs };
  }
}

export interface RunOptions {
  concurrency: number;
  onProgress?: (progress: Progress) => void;
  signal?: AbortSignal;
}

/** Thrown when the signal stops a migration between chunks, with the results of the chunks that ran. */
export class Aborted {
  constructor(readonly assembly: Assembly, readonly reason: unknown) {}
}

/** Runs every chunk on the calling thread in order. */
export function runChunksSync(chunks: Chunk[], assembly: Assembly, run: (chunk: Chunk) => NativeMigrateResult, options: RunOptions): void {
  for (const chunk of chunks) {
    if (options.signal?.aborted) throw new Aborted(assembly, options.signal.reason);
    assembly.add(chunk, run(chunk));
    options.onProgress?.({ pages: assembly.pages, done: assembly.done });
  }
}

/**
 * Runs the chunks with up to `concurrency` in flight on the libuv pool. On an
 * error or an abort no new chunk starts; the ones in flight finish first.
 */
export async function runChunks(
  chunks: Chunk[],
  assembly: Assembly,
  run: (chunk: Chunk) => Promise<NativeMigrateResult>,
  options: RunOptions,
): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const stopped = () => failure !== undefined || options.signal?.aborted === true;
  const lane = async () => {
    while (next < chunks.length && !stopped()) {
      const chunk = chunks[next++];
      try {
        assembly.add(chunk, await run(chunk));
        options.onProgress?.({ pages: assembly.pages, done: assembly.done });
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency, chunks.length) }, lane));
  if (failure) throw failure.error;
  if (options.signal?.aborted && assembly.done < assembly.pages) throw new Aborted(assembly, options.signal.reason);
}
