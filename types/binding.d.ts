// The contract of the native addon (build/Release/numaplace.node or a prebuild).
// Every view argument is a Uint8Array; the TypeScript layer normalizes user input.
// Members are in the order native/binding.cc registers them, grouped by the lib/ module they serve.
// test/binding.test.ts checks that the addon exports exactly these members.


/** What every migration export takes: one options object, each field optional (false when left out). */
export interface NativeMoveOptions {
  /** MPOL_MF_MOVE_ALL rather than MPOL_MF_MOVE: also pages shared with other processes. */
  moveAll?: boolean;
  /** Give never-written pages a page of their own first (MADV_POPULATE_WRITE). */
  prefault?: boolean;
  /** Query every page before the move, to tell moved pages from pages already on their target. */
  countMoved?: boolean;
  /** Return the per-page statuses (always returned for per-page targets). */
  status?: boolean;
  /** How often a chunk's pages the kernel could not move are offered again (default 1, at most 1000). */
  retries?: number;
  /** The pause before each of those retries, in ms (default 0, at most 60000). */
  retryDelayMs?: number;
  /**
   * Paced (default 0: not): query the span, then move at most this many pages that are elsewhere,
   * from its first page on (at most CHUNK_PAGES), timing every move_pages call; the result says
   * how many pages of the span were handled (`pages`) and each call's time (`callNs`).
   */
  maxMoves?: number;
}

/** The one result of every migration export; a page counts as on its node when it is on its target. */
export interface NativeMigrateResult {
  /** Pages on their target after the move (read back). */
  onNode: number;
  /** Of those, pages that were elsewhere before: only when countMoved queried them first. */
  moved?: number;
  /** Pages with no page of their own after the move. */
  notPresent: number;
  /** The pages elsewhere after the move (their indexes in the view's span, ascending), by their final status (a node id or a negative errno). */
  failed: Record<string, Int32Array>;
  /** Pages on another node than their target after the move, by that node (read back); absent when there are none. */
  elsewhere?: Record<string, number>;
  hidden: number;
  /** Huge pages on the target after the move, each moved by one address (one target for every page). */
  hugePages: number;
  /** move_pages calls that moved pages: one per chunk of the span and one per retry (the queries not counted). */
  calls: number;
  elapsedNs: number;
  /** Where each page is after the move (read back), or a negative errno: with status or per-page targets. */
  status?: Int32Array;
  /** Paced (maxMoves): the pages of the span handled, from its first; the counts and status cover these only. */
  pages?: number;
  /** Paced (maxMoves): each move_pages call's time in nanoseconds. */
  callNs?: Float64Array;
}

/** What moveProcessRange() did with a range of a process's pages. */
export interface NativeRangeResult {
  /**
   * Pages of the range handled, from its start: fewer than asked when maxMoves cut it; more when the range
   * starts in a hole of its mapping (nothing present or swapped out), which is crossed up to `mappingEnd`.
   */
  pages: number;
  /** Pages now on their target. */
  moved: number;
  /** Present pages NUMA balancing hid from the query that could not be faulted back in: left where they are. */
  hidden: number;
  /** Pages that were to move and are not on their target, by the kernel's status (negative errno) or the node it left them on. */
  failed: Record<string, number>;
  /** The same pages by the node they are on, read back. */
  elsewhere: Record<string, number>;
  /** The move_pages call's time in nanoseconds; empty when no page had to move. */
  callNs: Float64Array;
}

/** Errors from failed system calls carry these fields (and no message worth parsing). */
export interface NativeSystemError extends Error {
  /** Negative, like Node's fs errors. */
  errno: number;
  /** 'ENODEV', 'EPERM', … */
  code: string;
  syscall: string;
}

/** A memory policy in the kernel's numbers (MPOL_* mode, MPOL_F_* mode flags), the same both ways. */
export interface NativePolicy {
  mode: number;
  flags: number;
  nodes: number[];
}

/**
 * The status of each page: a node id, or a negative errno (-ENOENT = not present, -4096 = hidden,
 * node unknown). Returns undefined when the span fits in the scratch array (the caller copies the
 * first counts[1] entries) or else a new array; counts[0] receives how many present pages NUMA
 * balancing hid from the kernel's query. Out-parameters, because allocating a result costs more
 * than querying a page.
 */
export type QueryPages = (view: Uint8Array) => Int32Array | undefined;

/**
 * Numbers from the kernel's headers and numaplace's core (native/constants.cc), under their C names
 * where they have one, as Node's os.constants. lib/ keeps copies for where the addon cannot load;
 * test/binding.test.ts compares them.
 */
export interface NativeConstants {
  readonly MPOL_DEFAULT: number;
  readonly MPOL_PREFERRED: number;
  readonly MPOL_BIND: number;
  readonly MPOL_INTERLEAVE: number;
  readonly MPOL_LOCAL: number;
  readonly MPOL_PREFERRED_MANY: number;
  readonly MPOL_WEIGHTED_INTERLEAVE: number;
  readonly MPOL_F_STATIC_NODES: number;
  readonly MPOL_F_RELATIVE_NODES: number;
  readonly MPOL_F_NUMA_BALANCING: number;
  readonly MPOL_MF_STRICT: number;
  readonly MPOL_MF_MOVE: number;
  readonly MPOL_MF_MOVE_ALL: number;
  /** The status of a page with no page of its own (numa::kNotPresent, -ENOENT). */
  readonly PAGE_NOT_PRESENT: number;
  /** The status of a present page NUMA balancing hid whose node is unknown (numa::kHiddenNodeUnknown). */
  readonly PAGE_HIDDEN: number;
  /** Pages per move_pages call at most (numa::kChunkPages). */
  readonly CHUNK_PAGES: number;
  /** The most `retries` and `retryDelayMs` a migration takes. */
  readonly MAX_RETRIES: number;
  readonly MAX_RETRY_DELAY_MS: number;
}

export interface NativeBinding {
  readonly pageSize: number;
  /** The size of a transparent huge page (hpage_pmd_size), or 0 without THP. */
  readonly hugePageSize: number;
  readonly constants: NativeConstants;
  /**
   * A query function that writes into these arrays, kept for the life of this JS environment (the
   * main thread or a worker); one per copy of lib/pages.ts. Reading the arrays through Node-API on
   * every call would cost a 1-page query ~15%.
   */
  pageQuery(scratch: Int32Array, counts: Float64Array): QueryPages;
  /** The whole pages a view touches: the view's address, the first page's, how many pages. */
  spanOf(view: Uint8Array): { address: bigint; start: bigint; pages: number };
  prefault(view: Uint8Array): void;
  /** Moves every page of the view to `node`. */
  migrate(view: Uint8Array, node: number, options: NativeMoveOptions): NativeMigrateResult;
  migrateAsync(view: Uint8Array, node: number, options: NativeMoveOptions): Promise<NativeMigrateResult>;
  /** Moves page i of the view's span to targets[i] (one entry per page); the result always has `status`. */
  movePages(view: Uint8Array, targets: Int32Array, options: NativeMoveOptions): NativeMigrateResult;
  movePagesAsync(view: Uint8Array, targets: Int32Array, options: NativeMoveOptions): Promise<NativeMigrateResult>;
  /** mbind on the view's whole pages; moveFlags: MPOL_MF_STRICT | MOVE | MOVE_ALL. */
  bindRange(view: Uint8Array, policy: NativePolicy, moveFlags: number): void;
  /** get_mempolicy(MPOL_F_ADDR) for the view's first page. */
  rangePolicy(view: Uint8Array): NativePolicy;
  /** get_mempolicy(MPOL_F_NODE | MPOL_F_ADDR) for the view's first byte (allocates the page). */
  nodeOfAddress(view: Uint8Array): number;
  threadPolicy(): NativePolicy;
  /** get_mempolicy(MPOL_F_MEMS_ALLOWED): the online nodes with memory this thread's cpuset allows. */
  allowedNodes(): number[];
  setThreadPolicy(policy: NativePolicy): void;
  setHomeNode(view: Uint8Array, node: number): void;
  /** migrate_pages; returns the number of pages not moved. */
  migrateProcess(pid: number, fromNodes: number[], toNodes: number[]): number;
  /** migrate_pages on the libuv pool. */
  migrateProcessAsync(pid: number, fromNodes: number[], toNodes: number[]): Promise<number>;
  /**
   * move_pages on `pages` pages of `pageBytes` from address `start` of process `pid` (0 = this
   * one), at most CHUNK_PAGES: those on node n go to nodeTargets[n] (-1: they stay), at most
   * options.maxMoves of them (cutting the range); options.moveAll for pages shared with other processes.
   */
  moveProcessRange(pid: number, start: number, pages: number, mappingEnd: number, pageBytes: number, nodeTargets: Int32Array, options: NativeMoveOptions): NativeRangeResult;
  moveProcessRangeAsync(pid: number, start: number, pages: number, mappingEnd: number, pageBytes: number, nodeTargets: Int32Array, options: NativeMoveOptions): Promise<NativeRangeResult>;
  /**
   * mmap + mbind before first touch; unmapped by a finalizer, accounted as external memory.
   * hugePages: 'wanted' MADV_HUGEPAGE, 'unwanted' MADV_NOHUGEPAGE, 'system' the THP setting decides.
   */
  allocate(bytes: number, policy: NativePolicy, hugePages: 'system' | 'wanted' | 'unwanted', asArrayBuffer: boolean): Buffer | ArrayBuffer;
  threadAffinity(): number[];
  setThreadAffinity(cpus: number[]): void;
  currentCpu(): { cpu: number; node: number };
  /**
   * Replaces this process with `file` (execvp: PATH searched) and `argv` (argv[0] first), from the
   * calling thread, whose CPUs and memory policy the command keeps. Ignored signals go back to the
   * default, the signal mask is emptied, fds 0 to 2 are handed on (but a standard input Node.js
   * opened on /dev/null because it was closed). With `parent` (a copy of `numaplace run
   * --per-node`): a process group of its own, SIGKILL when the parent dies (at once if `parent` is
   * not its parent any more). Returns only by throwing, when the exec failed.
   */
  exec(file: string, argv: string[], parent?: number): never;
}
