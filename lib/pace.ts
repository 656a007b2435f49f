// Pacing, for migrations a live service leaves running (the `maxCallMs` and
// `bytesPerSecond` of migrateBuffer and migrateProcess). Each move_pages call
// is sized from the calls before it, so that none takes longer than
// maxCallMs: a call holds a libuv pool thread (shared with fs, dns, crypto
// and zlib) to its end, the pages it has queued stay off the kernel's LRU
// lists until then, and an abort waits for it. Between calls the migration
// pauses, so that its average rate, the memory bandwidth its copying takes
// from the service, stays under bytesPerSecond: a timer for the Promise
// forms, while the event loop runs, a sleep for the synchronous ones.
import type { Body, Both } from './sync-async';

/** How gently a migration moves: either or both. */
export interface Budget {
  /** The most bytes a second the migration moves, on average from its start. */
  bytesPerSecond?: number;
  /** The longest a single move_pages call may take. */
  maxCallMs?: number;
}

/** What a paced migration's report adds: how the budget was kept. */
export interface PacedFigures {
  /** The longest move_pages call. */
  longestCallMs: number;
  /** Every move_pages call's duration, in order (`calls` of them). */
  callMs: number[];
  /** What moving a page cost: the calls' time over the pages they moved (0 when none moved). */
  msPerPage: number;
  /** The rate achieved: the bytes of the pages moved over the whole migration's time, pauses included. */
  bytesPerSecond: number;
  /** Time spent pausing between calls to keep to `bytesPerSecond`. */
  pausedMs: number;
}

/** What one paced native call did: the pages of its range it handled, moved, tried to move, and its move_pages calls. */
export interface PacedStep {
  handled: number;
  moved: number;
  /** Pages it tried to move: those moved and those that would not. */
  tried: number;
  /** Each move_pages call's time in nanoseconds. */
  callNs: Float64Array;
}

// The first call moves this few pages: its time, and each call's after it,
// size the next. A call's fixed cost (draining every CPU's page batches) is
// part of every measure, so a call never grows past what its time allows.
const FIRST_MOVES = 64;
// Each call aims at this share of maxCallMs: a call's time varies with what it
// meets (pages another thread holds, a huge page, other CPUs' interruptions),
// and the rest of the budget is for that.
const TARGET_SHARE = 0.5;
// The next call moves at most this many times the pages the last one moved:
// a measure says little about a call much larger than the one it was made on.
const MAX_GROWTH = 2;
// Under bytesPerSecond, a call moves at most what the rate allows in a tenth
// of a second: short pauses often, not one burst and a long pause.
const RATE_SLICE_S = 0.1;

export class Pace {
  private moves: number;
  private handled = 0;
  private readonly callNs: number[] = [];
  private longestNs = 0;
  private totalCallNs = 0;
  private movedPages = 0;
  private pausedNs = 0;
  private readonly started = process.hrtime.bigint();

  /**
   * @param budget - The caller's, checked.
   * @param pageSize - Bytes per page, for the rate.
   * @param maxPages - The most pages one call takes (the addon's CHUNK_PAGES).
   * @param unrefPauses - Whether a pause's timer lets the process exit (keepNear's corrections: a handle must not keep a service alive).
   */
  constructor(
    private readonly budget: Budget,
    private readonly pageSize: number,
    private readonly maxPages: number,
    readonly unrefPauses = false,
  ) {
    this.moves = budget.maxCallMs === undefined ? maxPages : FIRST_MOVES;
  }

  /** The next call's size: the pages of the range to offer (`window`) and the most of them to move. */
  next(): { window: number; moves: number } {
    const rated = this.budget.bytesPerSecond === undefined ? Infinity : (this.budget.bytesPerSecond * RATE_SLICE_S) / this.pageSize;
    const moves = Math.max(1, Math.floor(Math.min(this.moves, rated, this.maxPages)));
    // Pages already in place cost the call little: the window grows past them, the moves stay capped.
    return { window: Math.min(this.maxPages, Math.max(moves, 2 * this.handled)), moves };
  }

  /** Takes in what a call did and sizes the next from its time. */
  record(step: PacedStep): void {
    let longest = 0;
    for (const ns of step.callNs) {
      this.callNs.push(ns);
      this.totalCallNs += ns;
      longest = Math.max(longest, ns);
    }
    this.longestNs = Math.max(this.longestNs, longest);
    this.movedPages += step.moved;
    this.handled = step.handled;
    if (this.budget.maxCallMs !== undefined && step.tried > 0 && longest > 0) this.moves = this.scaled(step.tried, longest, this.budget.maxCallMs);
  }

  /** The pages the next call may move after `tried` pages took `ns`: fewer when that was over the aim, more (within MAX_GROWTH) when it was under. */
  private scaled(tried: number, ns: number, maxCallMs: number): number {
    const fits = (tried * maxCallMs * TARGET_SHARE * 1e6) / ns;
    if (fits <= tried) return Math.max(1, Math.floor(fits));
    // A call that moved fewer pages than it might have (few were elsewhere) shows that many fit, not more.
    return Math.max(this.moves, Math.floor(Math.min(fits, MAX_GROWTH * tried)));
  }

  /** How long to pause now so that the average rate since the pace began stays under bytesPerSecond (0 without one). */
  pauseMs(): number {
    if (this.budget.bytesPerSecond === undefined) return 0;
    const due = ((this.movedPages * this.pageSize) / this.budget.bytesPerSecond) * 1000;
    return Math.max(0, due - Number(process.hrtime.bigint() - this.started) / 1e6);
  }

  /** A pause taken. */
  paused(ns: number): void {
    this.pausedNs += ns;
  }

  /** The figures of the migration so far, `elapsedNs` into it. */
  figures(elapsedNs: number): PacedFigures {
    return {
      longestCallMs: this.longestNs / 1e6,
      callMs: this.callNs.map((ns) => ns / 1e6),
      msPerPage: this.movedPages > 0 ? this.totalCallNs / 1e6 / this.movedPages : 0,
      bytesPerSecond: elapsedNs > 0 ? (this.movedPages * this.pageSize) / (elapsedNs / 1e9) : 0,
      pausedMs: this.pausedNs / 1e6,
    };
  }
}

/**
 * A pause of `ms` milliseconds: a timer for the Promise form, which an abort
 * of `signal` ends at once (`unref`: one that does not keep the process
 * alive); a sleep of the calling thread for the synchronous form.
 */
export function pause(ms: number, signal?: AbortSignal, unref = false): Both<void> {
  return {
    sync: () => {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
    },
    async: () =>
      new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', done);
          resolve();
        };
        const timer = setTimeout(done, ms);
        if (unref) timer.unref();
        signal?.addEventListener('abort', done, { once: true });
      }),
  };
}

/** What a paced call did, and whether its range has pages left. */
export interface PacedOutcome extends PacedStep {
  more: boolean;
}

/**
 * Runs `step` with the sizes `pace` gives, one call after another, until a
 * step says its range has no more pages (none is run when `any` is false) or
 * `signal` aborts; after each, pauses as long as the rate asks, the last
 * included, so that the whole migration keeps to it.
 */
export function* pacedSteps(
  pace: Pace,
  signal: AbortSignal | undefined,
  step: (size: { window: number; moves: number }) => Body<PacedOutcome>,
  any: boolean,
): Body<void> {
  const aborted = () => signal?.aborted === true;
  for (let more = any; more && !aborted(); ) {
    const outcome = yield* step(pace.next());
    pace.record(outcome);
    more = outcome.more;
    // Until the time is due: a timer may end a little early by the clock the rate is measured on.
    for (let wait = pace.pauseMs(); wait > 0 && !aborted(); wait = pace.pauseMs()) {
      const began = process.hrtime.bigint();
      yield pause(wait, signal, pace.unrefPauses);
      pace.paused(Number(process.hrtime.bigint() - began));
    }
  }
}
