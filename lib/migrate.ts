import { constants } from 'node:os';
import { getSystemErrorName } from 'node:util';
import type { NativeMigrateResult, NativeMoveOptions } from '../types/binding';
import { native } from './binding';
import {
  Aborted,
  Assembly,
  type Chunk,
  defaultConcurrency,
  MAX_DEFAULT_CHUNK_PAGES,
  type MigrationTotals,
  planChunks,
  type Progress,
  runChunks,
  runPaced,
  type RunOptions,
} from './engine';
import {
  booleanOption,
  boundedIntegerOption,
  budgetOptions,
  type BudgetFields,
  byteView,
  functionOption,
  type MemoryView,
  noConcurrency,
  nodeArgument,
  optionsArgument,
  pageTargetsArgument,
  positiveIntegerOption,
  signalOption,
} from './checks';
import { callError, callNative, nativeCall, NumaError } from './errors';
import { Pace, type PacedFigures } from './pace';
import { PAGE_HIDDEN } from './pages';
import { requireMemoryNodes, requireMoveAll } from './preconditions';
import { type Body, runAsync, runSync } from './sync-async';

export interface MigrateOptions {
  /** Populate never-written pages first (data unchanged) so that every page of the span moves. */
  prefault?: boolean;
  /** Also move pages shared with other processes (MPOL_MF_MOVE_ALL; needs CAP_SYS_NICE). */
  moveAll?: boolean;
  /** Include the per-page move_pages status array in the report. */
  status?: boolean;
  /**
   * Tell moved pages from pages already on the node (`moved`, `alreadyOnNode`): the kernel's answer
   * is the same for both, so this queries every page before the move, a second walk of the range
   * that costs about as much as a move of pages already in place.
   */
  countMoved?: boolean;
  /**
   * How often, per chunk, pages the kernel tried to move and could not (pinned or held by a pipe or
   * I/O) are offered again, only they (default 1, at most 1000). The kernel has already retried them
   * inside its own call, so a page still held is usually held for a while: more retries, with
   * `retryDelayMs`, are for holds the caller knows to be short. Pages NUMA balancing hid from the
   * move, and pages another migration had for a moment (EBUSY), are moved again whatever this says.
   */
  retries?: number;
  /** Milliseconds to wait before each of those retries (default 0, at most 60000). */
  retryDelayMs?: number;
  /**
   * Pages per chunk, rounded up to whole transparent huge pages. Chunks are the unit of progress,
   * cancellation and parallel work. Default: the span split evenly over the chunks in flight, at most
   * 16384 pages (each chunk is one move_pages call, which has a fixed cost in the kernel).
   */
  chunkPages?: number;
  /** Called after each chunk with the pages of the span and how many are done. */
  onProgress?: (progress: Progress) => void;
  /** Stops the migration before the next chunk; it then rejects/throws a MigrationAbortedError. */
  signal?: AbortSignal;
  /**
   * Moves gently: at most this many bytes a second on average, from the start to the end of the
   * migration, with pauses between move_pages calls (a timer for migrateBuffer, a sleep for the
   * synchronous form). Counts the pages moved (not those already on the node). One call at a time.
   */
  bytesPerSecond?: number;
  /**
   * Moves gently: sizes each move_pages call so that none takes longer than this, from the time
   * per page of the calls before it (the first moves 64 pages); a huge page moves whole, so a call
   * takes at least as long as one. One call at a time; leave out `chunkPages`.
   */
  maxCallMs?: number;
}

export interface ParallelMigrateOptions extends MigrateOptions {
  /** Chunks in flight at once on the libuv pool. Default: one less than the pool size and than the CPU count (at least 1); 1 for a view of one huge page (2 MiB) or less. */
  concurrency?: number;
}

export type { Progress };

export interface MigrationReport {
  /** The target node. */
  node: number;
  /** Pages spanned by the view, including partial first and last pages shared with other data. */
  pages: number;
  /** Pages on `node` after the move: moved there, or there already. */
  onNode: number;
  /** With `countMoved`: pages that were on another node and are now on `node`. */
  moved?: number;
  /** With `countMoved`: pages that were on `node` already. */
  alreadyOnNode?: number;
  /** Pages with no page of their own (never written, or only the zero page); use `prefault` to move them too. */
  notPresent: number;
  /** Pages not on `node` after the move, by the kernel's error code (EBUSY, ENOMEM, EACCES, …), NOT_MOVED or NODE_UNKNOWN. */
  failed: Map<string, number>;
  /**
   * Which pages `failed` counts, by the same codes: their indexes in the span (page 0 holds the
   * view's first byte; `status[i]` says where page i is), ascending; `failedPages.get(code).length`
   * is `failed.get(code)`.
   */
  failedPages: Map<string, number[]>;
  /**
   * The pages on another node than `node` after the move, by the node they are on, read back:
   * left behind (their reasons are in `failed`), or put there by the kernel. Never counted in
   * `onNode` or `moved`. A page whose node is unknown (`NODE_UNKNOWN`) is in `failed` only.
   */
  elsewhere: Map<number, number>;
  /**
   * Times a present page was found hidden by NUMA balancing from the kernel's queries before or after
   * an attempt (found, and moved too): a page hidden again after its retry counts again, so this can
   * exceed `pages` when balancing is busy.
   */
  hidden: number;
  /**
   * Huge pages (transparent or hugetlb) on `node` after the move that were mapped whole before and
   * after it: each was given to move_pages by one address, as the kernel moves it at once, and its
   * pages count in `onNode`. 0 where there are none, and before Linux 6.7, which cannot show them
   * (PAGEMAP_SCAN): the pages of a huge page then go to move_pages one by one.
   */
  hugePages: number;
  /** Per page (with `options.status`): the node it is on after the move, read back, or a negative errno. */
  status?: Int32Array;
  /** Wall-clock time of the whole migration: prefault, queries and moves of every chunk. */
  elapsedNs: number;
  /**
   * move_pages calls that moved pages: one per chunk, and one more for each time pages left
   * behind were offered again (see `retries`); the queries that read pages back are not counted.
   */
  calls: number;
  /** The kernel path that moved the pages: move_pages with a per-page array. */
  method: 'move_pages';
  /** Chunks the span was split into (see `chunkPages`). */
  chunks: number;
  /** Chunks that ran at once. */
  concurrency: number;
  /** With `maxCallMs` or `bytesPerSecond`: the longest move_pages call. */
  longestCallMs?: number;
  /** With `maxCallMs` or `bytesPerSecond`: every move_pages call's duration, in order. */
  callMs?: number[];
  /** With `maxCallMs` or `bytesPerSecond`: the calls' time over the pages they moved, what a page cost (0 when none moved). */
  msPerPage?: number;
  /** With `maxCallMs` or `bytesPerSecond`: the rate achieved, the bytes of the pages moved over `elapsedNs`. */
  bytesPerSecond?: number;
  /** With `maxCallMs` or `bytesPerSecond`: the time paused between calls to keep to `bytesPerSecond`. */
  pausedMs?: number;
}

/**
 * The report of a migration asked with options `O`: `moved` and `alreadyOnNode`
 * are there (not optional) when `O` has `countMoved: true`, `status` when it
 * has `status: true`, and the paced figures with `moved` when it has
 * `bytesPerSecond` or `maxCallMs`.
 */
export type MigrationReportFor<O> = MigrationReport &
  (O extends { countMoved: true } ? { moved: number; alreadyOnNode: number } : unknown) &
  (O extends { status: true } ? { status: Int32Array } : unknown) &
  (O extends { bytesPerSecond: number } | { maxCallMs: number } ? PacedFigures & { moved: number; alreadyOnNode: number } : unknown);

/**
 * What migrateBuffer() and migrateBufferSync() throw when their `signal` stops
 * them: `report` covers the chunks that ran (its `pages` are the pages done),
 * `totalPages` the whole span. Every page is on a node either way.
 */
export class MigrationAbortedError extends Error {
  readonly code = 'ABORT_ERR';

  constructor(fn: string, readonly report: MigrationReport, readonly totalPages: number, reason: unknown) {
    super(`${fn}: aborted after ${report.pages} of ${totalPages} pages`, { cause: reason });
    this.name = 'AbortError';
  }
}

/**
 * What migrateBuffer() and migrateBufferSync() throw when the kernel fails or
 * the caller gives the view's memory away part way: the NumaError of the
 * failure, with `report` covering the chunks that had finished (their pages
 * are where it says) and `totalPages` the whole span.
 */
export class MigrationFailedError extends NumaError {
  constructor(
    error: NumaError,
    readonly report: MigrationReport,
    readonly totalPages: number,
  ) {
    super(`${error.message} (${report.pages} of ${totalPages} pages were done: see err.report)`, error);
    this.cause = error.cause;
  }
}

interface Request {
  fn: string;
  view: Uint8Array;
  /** The view's length when the call began: the buffer is measured once. */
  byteLength: number;
  node: number;
  /** What the addon is asked for every chunk. */
  options: NativeMoveOptions;
  chunks: Chunk[];
  concurrency: number;
  onProgress?: (progress: Progress) => void;
  signal?: AbortSignal;
  /** bytesPerSecond and maxCallMs: the migration is paced, and `chunks` are the calls made so far. */
  budget?: BudgetFields;
}

function migrationRequest(
  fn: string,
  value: MemoryView,
  node: unknown,
  options: ParallelMigrateOptions | undefined,
  parallel: boolean,
): Request {
  const view = fixedLength(byteView(value, fn));
  const target = nodeArgument(node, fn);
  const keys = parallel ? [...MIGRATE_KEYS, 'concurrency'] : MIGRATE_KEYS;
  const given = optionsArgument(options, fn, keys);
  const { prefault, moveAll, status, countMoved, chunkPages, onProgress, signal, concurrency, retries, retryDelayMs } = given;
  if (!parallel) noConcurrency(concurrency, fn);
  const budget = budgetOptions(fn, given);
  const givenLanes = parallel && concurrency !== undefined ? positiveIntegerOption(concurrency, fn, 'concurrency', 1) : undefined;
  const pagesPerChunk = chunkPages === undefined ? undefined : positiveIntegerOption(chunkPages, fn, 'chunkPages', 1);
  const nativeOptions: NativeMoveOptions = {
    moveAll: booleanOption(moveAll, fn, 'moveAll'),
    prefault: booleanOption(prefault, fn, 'prefault'),
    // A paced migration counts the pages it moves: the rate is theirs, the time per page too.
    countMoved: booleanOption(countMoved, fn, 'countMoved') || budget !== undefined,
    status: booleanOption(status, fn, 'status'),
    ...retryOptions(fn, retries, retryDelayMs),
  };
  const progress = functionOption<(progress: Progress) => void>(onProgress, fn, 'onProgress');
  const stop = signalOption(signal, fn);
  if (nativeOptions.moveAll) requireMoveAll(fn);
  requireMemoryNodes(fn, [target]);
  const context = () => `for a view of ${view.byteLength} bytes`;
  const lanes = parallel && !budget ? (givenLanes ?? callNative(fn, context, () => defaultConcurrency(view.byteLength))) : 1;
  const chunks = budget ? [] : callNative(fn, context, () => planChunks(view, pagesPerChunk, lanes));
  return { fn, view, byteLength: view.byteLength, node: target, options: nativeOptions, chunks, concurrency: lanes, onProgress: progress, signal: stop, budget };
}

// The most retries and the longest pause before one: the addon's constants.MAX_RETRIES and
// MAX_RETRY_DELAY_MS, copied so that the checks run where it cannot load (test/binding.test.ts compares).
export const MAX_RETRIES = 1000;
export const MAX_RETRY_DELAY_MS = 60000;

function retryOptions(fn: string, retries: unknown, retryDelayMs: unknown): Pick<NativeMoveOptions, 'retries' | 'retryDelayMs'> {
  return {
    retries: boundedIntegerOption(retries, fn, 'retries', 1, MAX_RETRIES),
    retryDelayMs: boundedIntegerOption(retryDelayMs, fn, 'retryDelayMs', 0, MAX_RETRY_DELAY_MS),
  };
}

// Every option key of migrateBufferSync; migrateBuffer also takes `concurrency`.
const MIGRATE_KEYS = ['prefault', 'moveAll', 'status', 'countMoved', 'chunkPages', 'onProgress', 'signal', 'retries', 'retryDelayMs', 'bytesPerSecond', 'maxCallMs'];

/**
 * The view over exactly its bytes now: a view that tracks the length of a
 * resizable ArrayBuffer or a growable SharedArrayBuffer would change size
 * under the chunks planned for it.
 */
function fixedLength(view: Uint8Array): Uint8Array {
  const { resizable, growable } = view.buffer as { resizable?: boolean; growable?: boolean };
  return resizable || growable ? new Uint8Array(view.buffer, view.byteOffset, view.byteLength) : view;
}

/**
 * The error when the caller gave the view's memory away during the migration
 * (its buffer transferred, detached or shrunk: its views then read as empty),
 * as the addon reports a view given away under a running move: EFAULT.
 */
function memoryGone(request: Request): unknown {
  if (request.view.byteLength === request.byteLength) return undefined;
  return callError(request.fn, 'move_pages', -constants.errno.EFAULT, `for a view of ${request.byteLength} bytes`);
}

/**
 * MigrationReport.failed code of a page that is on another node after the
 * move with no error code of its own: the kernel could not move it and only
 * counted it in move_pages' return value (a page pinned by a pipe or by I/O,
 * for example), a transparent huge page whose subpages were given different
 * targets, or a page NUMA balancing moved back.
 */
export const NOT_MOVED = 'NOT_MOVED';

/** MigrationReport.failed code of a page hidden by NUMA balancing whose node is unknown (see PAGE_HIDDEN). */
export const NODE_UNKNOWN = 'NODE_UNKNOWN';

export function failureCode(status: number): string {
  if (status === PAGE_HIDDEN) return NODE_UNKNOWN;
  return status < 0 ? getSystemErrorName(status) : NOT_MOVED;
}

function migrationReport(request: Request, pages: number, totals: MigrationTotals, pace?: Pace): MigrationReport {
  const failedPages = new Map<string, number[]>();
  for (const [status, indexes] of totals.failed) {
    const code = failureCode(status);
    const known = failedPages.get(code);
    // Statuses with one code (nodes other than the target, all NOT_MOVED) merged in page order.
    failedPages.set(code, known ? [...known, ...indexes].sort((a, b) => a - b) : indexes);
  }
  const failed = new Map([...failedPages].map(([code, indexes]) => [code, indexes.length]));
  const { onNode, notPresent, elsewhere, hidden, hugePages, status, elapsedNs, calls } = totals;
  // No chunk (an empty view) counted nothing moved, but was asked to.
  const moved = totals.moved ?? (request.options.countMoved ? 0 : undefined);
  return {
    node: request.node,
    pages,
    onNode,
    ...(moved !== undefined ? { moved, alreadyOnNode: onNode - moved } : {}),
    notPresent,
    failed,
    failedPages,
    elsewhere,
    hidden,
    hugePages,
    ...(status ? { status } : {}),
    elapsedNs,
    calls,
    method: 'move_pages',
    chunks: request.chunks.length,
    concurrency: Math.min(request.concurrency, request.chunks.length),
    ...pace?.figures(elapsedNs),
  };
}

function elapsedSince(started: bigint): number {
  return Number(process.hrtime.bigint() - started);
}

/** An abort or a NumaError, with the report of the chunks that finished; other errors (a throwing onProgress) as they are. */
function rethrowChunkError(request: Request, assembly: Assembly, started: bigint, error: unknown, pace?: Pace): never {
  if (!(error instanceof Aborted) && !(error instanceof NumaError)) throw error;
  const partial = migrationReport(request, assembly.done, assembly.finishedResult(elapsedSince(started)), pace);
  if (error instanceof Aborted) throw new MigrationAbortedError(request.fn, partial, assembly.pages, error.reason);
  throw new MigrationFailedError(error, partial, assembly.pages);
}

function runOptions(request: Request): RunOptions {
  return { concurrency: request.concurrency, onProgress: request.onProgress, signal: request.signal, memoryGone: () => memoryGone(request) };
}

/** migrateBuffer() and migrateBufferSync(): the one body of both. */
function* migration(fn: string, view: MemoryView, node: number, options: ParallelMigrateOptions | undefined, parallel: boolean, unrefPauses = false): Body<MigrationReport> {
  const request = migrationRequest(fn, view, node, options, parallel);
  const started = process.hrtime.bigint();
  const context = `for a view of ${request.byteLength} bytes`;
  const move = (chunk: Chunk, options = request.options) =>
    nativeCall(fn, context, {
      sync: () => native.migrate(chunk.view, request.node, options),
      async: () => native.migrateAsync(chunk.view, request.node, options),
    });
  if (request.budget) return yield* pacedMigration(request, started, move, unrefPauses);
  const assembly = Assembly.forChunks(request.chunks, request.options.status === true);
  try {
    yield* runChunks(request.chunks, assembly, move, runOptions(request));
  } catch (error) {
    rethrowChunkError(request, assembly, started, error);
  }
  return migrationReport(request, assembly.pages, assembly.result(elapsedSince(started)));
}

/** A migration with a budget: one call at a time, each sized by the pace (see lib/pace.ts). */
function* pacedMigration(
  request: Request,
  started: bigint,
  move: (chunk: Chunk, options: NativeMoveOptions) => Body<NativeMigrateResult>,
  unrefPauses: boolean,
): Body<MigrationReport> {
  const pages = callNative(request.fn, `for a view of ${request.byteLength} bytes`, () => native.spanOf(request.view).pages);
  const assembly = new Assembly(pages, request.options.status === true);
  const pace = new Pace(request.budget!, native.pageSize, MAX_DEFAULT_CHUNK_PAGES, unrefPauses);
  const call = (chunk: Chunk, moves: number) => move(chunk, { ...request.options, maxMoves: moves });
  try {
    yield* runPaced(request.view, assembly, call, runOptions(request), pace, request.chunks);
  } catch (error) {
    rethrowChunkError(request, assembly, started, error, pace);
  }
  return migrationReport(request, assembly.pages, assembly.result(elapsedSince(started)), pace);
}

/**
 * Moves the pages spanned by `view` to `node` on the libuv pool, in chunks of
 * `chunkPages` with up to `concurrency` at once; the event loop keeps running.
 * Pages shared with neighbouring data move too (see `pages`).
 *
 * @param view - A Buffer, TypedArray, DataView, ArrayBuffer or SharedArrayBuffer; its whole pages count.
 * @param node - The target node, one with memory.
 * @param options - prefault, moveAll, status, countMoved, retries, retryDelayMs, chunkPages, concurrency, onProgress, signal.
 * @throws TypeError/RangeError (rejections) for invalid arguments; NumaError ENODEV for a node that is not online or has no memory; NumaError EPERM for `moveAll` without CAP_SYS_NICE; MigrationAbortedError when `signal` aborts it.
 *
 * @example
 * const report = await migrateBuffer(buffer, 1);
 * console.log(report.onNode, report.failed); // pages on node 1, Map { code => pages } left behind
 */
export function migrateBuffer<O extends ParallelMigrateOptions = ParallelMigrateOptions>(
  view: MemoryView,
  node: number,
  options?: O & ParallelMigrateOptions,
): Promise<MigrationReportFor<O>> {
  // The report has `moved` and `status` when asked for: see migrationReport().
  return migrateBufferFor('migrateBuffer', view, node, options) as Promise<MigrationReportFor<O>>;
}

/** migrateBuffer() with its errors naming the public function `fn` that asked (keepNear's corrections). */
export function migrateBufferFor(
  fn: string,
  view: MemoryView,
  node: number,
  options: ParallelMigrateOptions | undefined,
  { unrefPauses = false } = {},
): Promise<MigrationReport> {
  return runAsync(migration(fn, view, node, options, true, unrefPauses));
}

/**
 * migrateBuffer() on the calling thread, one chunk after another, for scripts.
 *
 * @param view - A Buffer, TypedArray, DataView, ArrayBuffer or SharedArrayBuffer; its whole pages count.
 * @param node - The target node, one with memory.
 * @param options - prefault, moveAll, status, countMoved, retries, retryDelayMs, chunkPages, onProgress, signal.
 * @throws The errors of migrateBuffer(), thrown.
 *
 * @example
 * const { moved, alreadyOnNode } = migrateBufferSync(buffer, 1, { countMoved: true });
 */
export function migrateBufferSync<O extends MigrateOptions = MigrateOptions>(view: MemoryView, node: number, options?: O & MigrateOptions): MigrationReportFor<O> {
  return runSync(migration('migrateBufferSync', view, node, options, false)) as MigrationReportFor<O>;
}

export interface MovePagesOptions {
  /** Also move pages shared with other processes (MPOL_MF_MOVE_ALL; needs CAP_SYS_NICE). */
  moveAll?: boolean;
  /** As migrateBuffer's: how often pages the kernel could not move are offered again (default 1). */
  retries?: number;
  /** As migrateBuffer's: milliseconds to wait before each retry (default 0). */
  retryDelayMs?: number;
}

/** movePages() and movePagesSync(): the one body of both. */
function* pageMoves(fn: string, value: MemoryView, nodes: Int32Array, options: MovePagesOptions | undefined): Body<Int32Array> {
  const view = byteView(value, fn);
  const context = `for a view of ${view.byteLength} bytes`;
  const { pages } = callNative(fn, context, () => native.spanOf(view));
  const targets = pageTargetsArgument(nodes, fn, pages);
  const { moveAll, retries, retryDelayMs } = optionsArgument(options, fn, ['moveAll', 'retries', 'retryDelayMs']);
  const checked: NativeMoveOptions = { moveAll: booleanOption(moveAll, fn, 'moveAll'), ...retryOptions(fn, retries, retryDelayMs) };
  if (checked.moveAll) requireMoveAll(fn);
  requireMemoryNodes(fn, new Set(targets));
  const moved = yield* nativeCall(fn, context, {
    sync: () => native.movePages(view, targets, checked),
    async: () => native.movePagesAsync(view, targets, checked),
  });
  return perPageStatus(moved);
}

/** Per-page targets always come back with their statuses. */
function perPageStatus(result: NativeMigrateResult): Int32Array {
  if (!result.status) throw new Error('numaplace: the addon returned no statuses for per-page targets');
  return result.status;
}

/**
 * Low level: moves page i of the span to `targets[i]` on the libuv pool and
 * resolves to the kernel's per-page status (node id or negative errno).
 *
 * @param view - A Buffer, TypedArray, DataView, ArrayBuffer or SharedArrayBuffer; its whole pages count.
 * @param targets - One node id per page of the view's span.
 * @param options - `moveAll`, `retries`, `retryDelayMs`.
 * @throws TypeError/RangeError for invalid arguments or a `targets` of the wrong length; NumaError ENODEV for a node that is not online or has no memory; NumaError EPERM for `moveAll` without CAP_SYS_NICE.
 *
 * @example
 * const targets = Int32Array.from(pageNodes(buffer), (_, page) => page % 2); // interleave by hand
 * const status = await movePages(buffer, targets);
 */
export function movePages(view: MemoryView, targets: Int32Array, options?: MovePagesOptions): Promise<Int32Array> {
  return runAsync(pageMoves('movePages', view, targets, options));
}

/**
 * movePages() on the calling thread.
 *
 * @param view - A Buffer, TypedArray, DataView, ArrayBuffer or SharedArrayBuffer; its whole pages count.
 * @param targets - One node id per page of the view's span.
 * @param options - `moveAll`, `retries`, `retryDelayMs`.
 * @throws The errors of movePages(), thrown.
 *
 * @example
 * const status = movePagesSync(buffer, new Int32Array(pageNodes(buffer).length).fill(1));
 */
export function movePagesSync(view: MemoryView, targets: Int32Array, options?: MovePagesOptions): Int32Array {
  return runSync(pageMoves('movePagesSync', view, targets, options));
}
