// The contract of the native addon (build/Release/numaplace.node or a prebuild).
// Every view argument is a Uint8Array; the TypeScript layer normalizes user input.
// test/binding.test.ts checks that the addon exports exactly these members.

/** Status of each page: a node id, or a negative errno (-ENOENT = not present). */
export interface NativeQueryResult {
  status: Int32Array;
  /** Pages the kernel's query did not show although present (NUMA balancing). */
  hidden: number;
}

export interface NativeMigrateResult {
  /** Node of each page before the move (as queryPages reports it). */
  before: Int32Array;
  /** move_pages status of each page: the node it is on now, or a negative errno. */
  status: Int32Array;
  hidden: number;
  elapsedNs: number;
}

/** Errors from failed system calls carry these fields. */
export interface NativeSystemError extends Error {
  errno: number;
  syscall: string;
}

export interface NativeBinding {
  readonly pageSize: number;
  currentCpu(): { cpu: number; node: number };
  queryPages(view: Uint8Array): NativeQueryResult;
  /** The whole pages a view touches: address of the first and how many. */
  spanOf(view: Uint8Array): { start: bigint; pages: number };
  prefault(view: Uint8Array): void;
  /** flags: MPOL_MF_MOVE (2) or MPOL_MF_MOVE_ALL (4). */
  migrate(view: Uint8Array, target: number | Int32Array, flags: number, prefault: boolean): NativeMigrateResult;
  migrateAsync(
    view: Uint8Array,
    target: number | Int32Array,
    flags: number,
    prefault: boolean,
  ): Promise<NativeMigrateResult>;
}
