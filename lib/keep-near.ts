// keepNear(): a buffer kept on a node by a handle the service holds. Pages
// drift after they were placed (NUMA balancing moves them, khugepaged
// collapses them into huge pages allocated elsewhere, reclaim and swap-in
// bring them back wherever memory was free); the handle looks on an interval
// or when asked, and moves back what it finds elsewhere, within the budget a
// migration takes. No thread or process of its own: a timer on the event loop.
import { EventEmitter } from 'node:events';
import type { Worker } from 'node:worker_threads';
import { memoryNodeOfWorker, nodeOfThread } from './affinity';
import { bestNodeFor } from './best-node';
import {
  booleanOption,
  budgetOptions,
  type BudgetFields,
  byteView,
  keepTargetArgument,
  type MemoryView,
  nonEmptyView,
  optionsArgument,
  positiveIntegerOption,
  runningHandle,
  signalOption,
  startedWorkerNode,
} from './checks';
import { migrateBufferFor, MigrationAbortedError, type MigrationReport } from './migrate';
import { increment, queryView } from './pages';
import { requireMemoryNodes } from './preconditions';

const FN = 'keepNear';

export interface KeepNearOptions {
  /**
   * Milliseconds between checks (a positive integer up to 2^31 - 1, the longest timer Node has).
   * Leave out for a handle that checks only when check() is called.
   */
  intervalMs?: number;
  /** Pages that must be elsewhere before a check moves any (default 1): less drift is left alone. */
  minPages?: number;
  /** As migrateBuffer's: the most bytes a second a correction moves, on average. */
  bytesPerSecond?: number;
  /** As migrateBuffer's: the longest a single move_pages call of a correction may take. */
  maxCallMs?: number;
  /** Whether the timer lets the process exit while the handle runs (default true): a handle must not keep a service from ending. */
  unref?: boolean;
  /** Stops the handle when aborted, as stop() does; one aborted already gives a handle that has stopped. */
  signal?: AbortSignal;
}

/** Where keepNear() keeps a buffer. */
export type KeepNearTarget =
  /** A node with memory. */
  | { node: number }
  /** The node the calling thread runs near when keepNear() is called (nodeOfThread(); for a node of CPUs only, bestNode's for it). */
  | { thread: true }
  /** The node whose memory a worker started by startWorkerOnNode() prefers. */
  | { worker: Worker };

/** One correction: what a check found elsewhere and what moving it back did. */
export interface Correction {
  /** The node the buffer is kept on. */
  node: number;
  /** The pages the check found on other nodes, by the node they were on (pages whose node the kernel hid are not counted). */
  drifted: Map<number, number>;
  /** Pages moved back to `node` (the report's `moved`). */
  moved: number;
  /** The migration's report, read back from the kernel: `elsewhere` and `failed` say what stayed away. */
  report: MigrationReport & { moved: number; alreadyOnNode: number };
  /** False when stop() ended the migration part way: `report` covers the move_pages calls made. */
  complete: boolean;
}

/** What a handle has done since keepNear() made it. */
export interface KeepNearStats {
  /** Checks that read the buffer's placement. */
  checks: number;
  /** Checks that found at least `minPages` elsewhere and moved them. */
  corrections: number;
  /** Pages moved back, over every correction. */
  pagesMoved: number;
}

export interface KeepNear {
  /** Each correction, when its migration has ended (before check() resolves to it). */
  on(event: 'correction', listener: (correction: Correction) => void): this;
  /** A check the timer started that failed; the handle has stopped. Without a listener the error is in `lastError` and a process warning. */
  on(event: 'error', listener: (error: Error) => void): this;
  once(event: 'correction', listener: (correction: Correction) => void): this;
  once(event: 'error', listener: (error: Error) => void): this;
  off(event: 'correction', listener: (correction: Correction) => void): this;
  off(event: 'error', listener: (error: Error) => void): this;
}

/** The handle keepNear() returns. */
export class KeepNear extends EventEmitter {
  /** The node the buffer is kept on, resolved when the handle was made. */
  readonly node: number;
  // The caller's memory, held so that it stays alive while the handle runs; let go when it stops.
  private view: Uint8Array | undefined;
  private readonly minPages: number;
  private readonly budget: BudgetFields | undefined;
  private readonly signal: AbortSignal | undefined;
  // Whether the handle lets the process exit: its timer, and the pauses of a correction with bytesPerSecond.
  private readonly unref: boolean;
  // Ends a correction under way when the handle stops (migrateBuffer stops between chunks, or calls when paced).
  private readonly halt = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<Correction | null> | undefined;
  private error: Error | undefined;
  private readonly counts: KeepNearStats = { checks: 0, corrections: 0, pagesMoved: 0 };
  private readonly onAbort = () => void this.stop();

  /** @internal keepNear() makes handles, from checked arguments. */
  constructor(view: Uint8Array, node: number, options: { intervalMs?: number; minPages: number; budget?: BudgetFields; unref: boolean; signal?: AbortSignal }) {
    super();
    this.view = view;
    this.node = node;
    this.minPages = options.minPages;
    this.budget = options.budget;
    this.signal = options.signal;
    this.unref = options.unref;
    if (this.signal?.aborted) {
      this.stopNow();
      return;
    }
    this.signal?.addEventListener('abort', this.onAbort, { once: true });
    if (options.intervalMs !== undefined) {
      this.timer = setInterval(() => this.tick(), options.intervalMs);
      if (this.unref) this.timer.unref();
    }
  }

  /** Whether the handle has stopped: stop(), its signal, or a failed check. */
  get stopped(): boolean {
    return this.halt.signal.aborted;
  }

  /** The error of the check that stopped the handle, if one did. */
  get lastError(): Error | undefined {
    return this.error;
  }

  /** Checks, corrections and pages moved so far (a copy). */
  get stats(): KeepNearStats {
    return { ...this.counts };
  }

  /**
   * Checks now: reads where the buffer's pages are and, when `minPages` or more are on
   * other nodes, moves them back (a 'correction' event). Resolves to the correction, or
   * null when there was none to make. While a check runs, another joins it: never two at
   * once. A check that fails rejects and stops the handle.
   */
  check(): Promise<Correction | null> {
    try {
      runningHandle(this.stopped, FN, 'check()');
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.running) return this.running;
    const running = this.correct().catch((error: Error) => {
      this.error = error;
      this.stopNow();
      throw error;
    });
    this.running = running;
    const done = () => {
      this.running = undefined;
    };
    running.then(done, done);
    return running;
  }

  /**
   * Stops the handle: no more checks, and a correction under way ends after the native
   * calls already running (one chunk per lane; with a budget, one call). Resolves once no
   * check runs. Calling it again does nothing more.
   */
  async stop(): Promise<void> {
    this.stopNow();
    await this.running?.catch(() => undefined);
  }

  private stopNow(): void {
    clearInterval(this.timer);
    this.signal?.removeEventListener('abort', this.onAbort);
    this.view = undefined;
    this.halt.abort();
  }

  /** A tick of the timer: skipped while a check runs; a failure goes to 'error', or else to a warning. */
  private tick(): void {
    if (this.running) return;
    this.check().catch((error: Error) => {
      if (this.listenerCount('error') > 0) this.emit('error', error);
      else process.emitWarning(`keepNear stopped: ${error.message}`, { code: 'NUMAPLACE_KEEP_NEAR_STOPPED' });
    });
  }

  private async correct(): Promise<Correction | null> {
    const view = this.view!;
    // Synchronous, as pageNodes() is: about 100 ns a page on this project's host (benchmarks/README.md).
    const { status } = queryView(view, undefined, FN);
    this.counts.checks++;
    const drifted = new Map<number, number>();
    let away = 0;
    for (const entry of status) {
      if (entry < 0 || entry === this.node) continue;
      increment(drifted, entry);
      away++;
    }
    if (away < this.minPages) return null;
    let report: MigrationReport;
    let complete = true;
    try {
      report = await migrateBufferFor(FN, view, this.node, { countMoved: true, signal: this.halt.signal, ...this.budget }, { unrefPauses: this.unref });
    } catch (error) {
      // Only stop() aborts it: what was moved before is a correction all the same.
      if (!(error instanceof MigrationAbortedError)) throw error;
      ({ report } = error);
      complete = false;
    }
    // countMoved: true, so the report counts the pages moved.
    const counted = report as Correction['report'];
    const correction: Correction = { node: this.node, drifted: new Map([...drifted].sort((a, b) => a[0] - b[0])), moved: counted.moved, report: counted, complete };
    this.counts.corrections++;
    this.counts.pagesMoved += counted.moved;
    this.emit('correction', correction);
    return correction;
  }
}

/**
 * A handle that keeps the pages of `view` on a node: on each check (every `intervalMs`,
 * or when check() is called) it reads where they are and moves back those it finds on
 * other nodes, with migrateBuffer's budget (`bytesPerSecond`, `maxCallMs`). Each
 * correction is a 'correction' event; stop() ends it (the timer does not keep the
 * process alive unless `unref: false`). The handle holds the view: its memory stays
 * alive until the handle stops. A buffer transferred or detached meanwhile stops the
 * handle with the error of the check that met it (ERR_INVALID_STATE, or EFAULT during a move).
 *
 * @param view - A Buffer, TypedArray, DataView, ArrayBuffer or SharedArrayBuffer of at least one byte; its whole pages are kept.
 * @param target - `{ node }`, `{ thread: true }` (the node the calling thread runs near now) or `{ worker }` (a Worker started by startWorkerOnNode).
 * @param options - intervalMs, minPages, bytesPerSecond, maxCallMs, unref, signal.
 * @throws TypeError/RangeError for invalid arguments (a misspelt option named with the nearest, a worker not started by startWorkerOnNode); NumaError ENODEV for a node that is not online or has no memory, EACCES for one outside the cpuset.
 *
 * @example
 * const keeper = keepNear(cache, { node: 1 }, { intervalMs: 10_000, maxCallMs: 2 });
 * keeper.on('correction', ({ drifted, moved }) => console.log(`moved ${moved} pages back from`, drifted));
 * await keeper.stop();
 */
export function keepNear(view: MemoryView, target: KeepNearTarget, options?: KeepNearOptions): KeepNear {
  const bytes = nonEmptyView(byteView(view, FN), FN);
  const where = keepTargetArgument(target, FN);
  const given = optionsArgument(options, FN, ['intervalMs', 'minPages', 'bytesPerSecond', 'maxCallMs', 'unref', 'signal']);
  // A positive integer is at most 2^31 - 1: Node runs a longer timer after 1 ms.
  const intervalMs = given.intervalMs === undefined ? undefined : positiveIntegerOption(given.intervalMs, FN, 'intervalMs', 1);
  const minPages = positiveIntegerOption(given.minPages, FN, 'minPages', 1);
  const budget = budgetOptions(FN, given);
  const unref = booleanOption(given.unref, FN, 'unref', true);
  const signal = signalOption(given.signal, FN);
  let node: number;
  if ('node' in where) {
    node = where.node;
    requireMemoryNodes(FN, [node]);
  } else if ('thread' in where) {
    node = bestNodeFor(FN, { node: nodeOfThread() });
  } else {
    node = startedWorkerNode(memoryNodeOfWorker(where.worker), FN);
  }
  return new KeepNear(bytes, node, { intervalMs, minPages, budget, unref, signal });
}
