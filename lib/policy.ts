import { constants } from 'node:os';
import type { NativePolicy } from '../types/binding';
import { native } from './binding';
import {
  booleanOption,
  byteView,
  type MemoryView,
  nodeArgument,
  nonEmptyView,
  optionsArgument,
  policyArgument,
  policyWeightsArgument,
  wholePagesArgument,
} from './checks';
import {
  MODE_NAMES,
  MPOL_F_NUMA_BALANCING,
  MPOL_F_RELATIVE_NODES,
  MPOL_F_STATIC_NODES,
  MPOL_MF_MOVE,
  MPOL_MF_MOVE_ALL,
  MPOL_MF_STRICT,
  nativePolicy,
  POLICY_MODES,
  type PolicyMode,
} from './mempolicy';
import { callNative, conditionError, type NumaError, translate } from './errors';
import { parseNumaMaps } from './numa-maps';
import { PAGE_NOT_PRESENT, pageNodes } from './pages';
import { requireHomeNode, requireMemoryNodes, requireMode, requireMoveAll, requirePolicyNodes } from './preconditions';
import { readKernelFile } from './topology';
import { kernelHasWeights, type NodeWeights, weightedRuns } from './weights';

export type { PolicyMode } from './mempolicy';

export interface PolicySpec {
  /** The kind of policy, as numactl names it: 'bind', 'preferred', 'interleave', … */
  mode: PolicyMode;
  /** Node ids; none for 'default' and 'local', exactly one for 'preferred'. */
  nodes?: number[];
  /** MPOL_F_STATIC_NODES: the nodes stay as given when the cpuset changes. */
  staticNodes?: boolean;
  /** MPOL_F_RELATIVE_NODES: nodes are indexes into the cpuset's allowed nodes. */
  relativeNodes?: boolean;
}

export interface Policy {
  /** The kind of policy. */
  mode: PolicyMode;
  /** The nodes it names (none for 'default' and 'local'). */
  nodes: number[];
  /** The mode flags set with it. */
  flags: { staticNodes: boolean; relativeNodes: boolean; numaBalancing: boolean };
}

function policyFromNative(raw: NativePolicy): Policy {
  const mode = (Object.keys(POLICY_MODES) as PolicyMode[]).find((name) => POLICY_MODES[name] === raw.mode) ?? 'default';
  return {
    mode,
    nodes: raw.nodes,
    flags: {
      staticNodes: (raw.flags & MPOL_F_STATIC_NODES) !== 0,
      relativeNodes: (raw.flags & MPOL_F_RELATIVE_NODES) !== 0,
      numaBalancing: (raw.flags & MPOL_F_NUMA_BALANCING) !== 0,
    },
  };
}

/** The page-aligned range a view covers and the bytes of it beyond the view. */
export interface PageRange {
  /** Pages the range covers. */
  pages: number;
  /** Its page-aligned addresses: [start, end). */
  byteSpan: { start: bigint; end: bigint };
  /** Bytes in the range before and after the view: changed too, though not the caller's. */
  beyondView: { before: number; after: number };
}

function pageRange(view: Uint8Array, fn: string, expandToPages: boolean): PageRange {
  const span = callNative(fn, `for a view of ${view.byteLength} bytes`, () => native.spanOf(view));
  const end = span.start + BigInt(span.pages * native.pageSize);
  const beyondView = { before: Number(span.address - span.start), after: Number(end - span.address) - view.byteLength };
  wholePagesArgument(fn, beyondView, expandToPages);
  return { pages: span.pages, byteSpan: { start: span.start, end }, beyondView };
}

const SPEC_KEYS = ['mode', 'nodes', 'staticNodes', 'relativeNodes'] as const;
const BIND_KEYS = [...SPEC_KEYS, 'weights', 'move', 'moveAll', 'strict', 'expandToPages'] as const;

/** A policy spec checked for shape and for this kernel's modes, in the kernel's numbers. */
export function policyOf(fn: string, spec: unknown, arg: string, keys: readonly string[] = SPEC_KEYS) {
  const fields = policyArgument(spec, fn, arg, MODE_NAMES, keys);
  requireMode(fn, fields.mode);
  return { fields, policy: nativePolicy(fields) };
}

export interface BindOptions extends PolicySpec {
  /**
   * With mode 'weighted-interleave': a weight from 1 to 255 for each of `nodes`, `{ [node]: weight }`,
   * for these pages only (the kernel's weights stay as they are). Without it the kernel's weights apply.
   */
  weights?: NodeWeights;
  /** Migrate pages already allocated to fit the policy (MPOL_MF_MOVE). */
  move?: boolean;
  /** Also pages shared with other processes (MPOL_MF_MOVE_ALL; needs CAP_SYS_NICE). */
  moveAll?: boolean;
  /**
   * Fail with EIO, counting them, when pages of this process's own are off the policy's nodes after the
   * call. Pages shared with other processes are skipped by the kernel without EIO unless `moveAll`:
   * placement() shows where they are.
   */
  strict?: boolean;
  /** Allow a view that does not cover whole pages: the policy then applies to its whole pages. */
  expandToPages?: boolean;
}

export interface BindReport extends PageRange {
  /**
   * The policy read back from the kernel after the call (of the first page: with weights laid out in
   * user space, its run's); for an empty view, which has no page to bind, the policy as asked.
   */
  policy: Policy;
  /** With `weights`: how they were applied. */
  weighted?: WeightedLayout;
}

/** How weights of a buffer's own were applied to its pages. */
export interface WeightedLayout {
  /**
   * 'kernel': one MPOL_WEIGHTED_INTERLEAVE policy, as the weights are the kernel's own (they apply as
   * each page is first touched); 'user-space': runs of pages, each with a policy preferring one node.
   */
  method: 'kernel' | 'user-space';
  /** The weights applied, `{ [node]: weight }`. */
  weights: NodeWeights;
  /** The policy ranges set, each an mbind call and a memory mapping of its own: 1 for 'kernel'. */
  runs: number;
}

/**
 * mbind on the view's whole pages. With MPOL_MF_STRICT the kernel's EIO can be
 * for a page that was busy at that moment (NUMA balancing migrating it): the
 * read-back decides, and only pages still off the policy's nodes fail it.
 */
function bindPages(fn: string, view: Uint8Array, policy: NativePolicy, moveFlags: number, asked: string): void {
  try {
    native.bindRange(view, policy, moveFlags);
  } catch (error) {
    const strict = (moveFlags & MPOL_MF_STRICT) !== 0 && (error as Partial<NumaError>).errno === -constants.errno.EIO;
    const outside = strict ? pagesOutside(view, policy.nodes) : undefined;
    if (outside === 0) return;
    const failure = translate(error, fn, outside === undefined ? asked : `${asked} (${outside} pages stayed off them)`);
    throw outside === undefined ? failure : Object.assign(failure as NumaError, { pagesNotMoved: outside });
  }
}

/**
 * Gives a view's pages weights of their own: the kernel's weighted interleave
 * where they are the kernel's weights, else runs of pages in weighted round
 * robin (weightedRuns()), each preferring its node: as with the kernel's
 * interleave, a full node's pages go elsewhere rather than fail. `unitPages`:
 * the pages of a run's unit, a huge page where the memory can have them.
 */
export function bindWeighted(fn: string, view: Uint8Array, weights: [number, number][], unitPages: number, moveFlags: number): WeightedLayout {
  const applied = Object.fromEntries(weights) as NodeWeights;
  const nodes = weights.map(([node]) => node);
  if (kernelHasWeights(fn, weights)) {
    const policy = { mode: POLICY_MODES['weighted-interleave'], flags: 0, nodes };
    bindPages(fn, view, policy, moveFlags, `for the kernel's weights of nodes [${nodes.join(', ')}]`);
    return { method: 'kernel', weights: applied, runs: 1 };
  }
  const page = native.pageSize;
  const span = callNative(fn, `for a view of ${view.byteLength} bytes`, () => native.spanOf(view));
  const before = Number(span.address - span.start);
  const runs = weightedRuns(span.pages, weights, unitPages);
  for (const { node, first, pages } of runs) {
    const part = view.subarray(Math.max(0, first * page - before), (first + pages) * page - before);
    bindPages(fn, part, { mode: POLICY_MODES.preferred, flags: 0, nodes: [node] }, moveFlags, `for pages ${first} to ${first + pages - 1} of the view, node ${node}`);
  }
  return { method: 'user-space', weights: applied, runs: runs.length };
}

/** A run's unit for a view: whole huge pages where its span starts on a huge-page boundary, else pages. */
function unitPagesOf(start: bigint): number {
  const huge = native.hugePageSize;
  return huge > 0 && start % BigInt(huge) === 0n ? huge / native.pageSize : 1;
}

/**
 * Sets the memory policy of the pages a view covers (mbind). The kernel
 * splits its mappings at the range's edges; pages allocated later follow the
 * policy, existing ones move only with `move`. Mode 'weighted-interleave' with
 * `weights` gives these pages weights of their own on any kernel, the
 * system's unchanged: the kernel's weighted interleave where they are its
 * weights, else runs of pages in weighted round robin (`weighted` in the
 * report says which), whole huge pages where the view starts on a huge-page
 * boundary.
 *
 * @param view - A Buffer, TypedArray, DataView, ArrayBuffer or SharedArrayBuffer; its whole pages count.
 * @param options - The policy (`mode`, `nodes`, `staticNodes`, `relativeNodes`, `weights`) and move, moveAll, strict, expandToPages.
 * @throws TypeError/RangeError for an invalid policy, weights or option, or a view not on page boundaries without `expandToPages`; NumaError ENODEV for a node that is not online or has no memory; NumaError ENOTSUP for a mode this kernel does not have ('weighted-interleave' without weights before Linux 6.9); NumaError EPERM for `moveAll` without CAP_SYS_NICE; NumaError EIO (with `pagesNotMoved`) when `strict` and pages stayed off the nodes; NumaError ENOMEM when the process has too many mappings.
 *
 * @example
 * bindBuffer(memory, { mode: 'bind', nodes: [1], move: true }); // the policy, and its pages move to node 1
 * bindBuffer(memory, { mode: 'weighted-interleave', nodes: [0, 1], weights: { 0: 3, 1: 1 }, move: true }); // 3 pages on node 0 for 1 on node 1
 */
export function bindBuffer(view: MemoryView, options: BindOptions): BindReport {
  const fn = 'bindBuffer';
  const bytes = byteView(view, fn);
  const fields = policyArgument(options, fn, 'options', MODE_NAMES, BIND_KEYS);
  const spec = options as BindOptions;
  const weights = policyWeightsArgument(spec.weights, fields, fn, 'options');
  // Weights of the buffer's own need no kernel mode: where the kernel lacks it they are laid out in user space.
  if (weights === undefined) requireMode(fn, fields.mode);
  const policy = nativePolicy(fields);
  const moveAll = booleanOption(spec.moveAll, fn, 'moveAll');
  const move = booleanOption(spec.move, fn, 'move') || moveAll;
  const strict = booleanOption(spec.strict, fn, 'strict');
  const range = pageRange(bytes, fn, booleanOption(spec.expandToPages, fn, 'expandToPages'));
  if (moveAll) requireMoveAll(fn);
  requirePolicyNodes(fn, fields);
  if (range.pages === 0) return { ...range, policy: policyFromNative(policy) };
  const moveFlags = (strict ? MPOL_MF_STRICT : 0) | (moveAll ? MPOL_MF_MOVE_ALL : move ? MPOL_MF_MOVE : 0);
  if (weights !== undefined) {
    const weighted = bindWeighted(fn, bytes, weights, unitPagesOf(range.byteSpan.start), moveFlags);
    return { ...range, policy: bufferPolicy(bytes), weighted };
  }
  bindPages(fn, bytes, policy, moveFlags, `for ${range.pages} pages, mode '${spec.mode}', nodes [${policy.nodes.join(', ')}]`);
  return { ...range, policy: bufferPolicy(bytes) };
}

/** Present pages of the view on none of `nodes`. */
function pagesOutside(view: Uint8Array, nodes: number[]): number {
  return pageNodes(view).filter((node) => node !== PAGE_NOT_PRESENT && !nodes.includes(node)).length;
}

/**
 * The policy of the pages holding the view's first byte (get_mempolicy MPOL_F_ADDR).
 *
 * @param view - A Buffer, TypedArray, DataView, ArrayBuffer or SharedArrayBuffer; its whole pages count.
 * @throws TypeError for a view of another type or over a detached buffer; NumaError EFAULT when the view's first page is not mapped.
 *
 * @example
 * console.log(bufferPolicy(memory)); // { mode: 'bind', nodes: [ 1 ], flags: { … } }
 */
export function bufferPolicy(view: MemoryView): Policy {
  const bytes = byteView(view, 'bufferPolicy');
  return policyFromNative(callNative('bufferPolicy', `for a view of ${bytes.byteLength} bytes`, () => native.rangePolicy(bytes)));
}

/**
 * The node of the page holding the view's first byte (get_mempolicy MPOL_F_NODE | MPOL_F_ADDR).
 * Unlike pageNodes(), the kernel faults the page in for reading: a never-written page then maps
 * the shared zero page, whose node is reported.
 *
 * @param view - A Buffer, TypedArray, DataView, ArrayBuffer or SharedArrayBuffer; its whole pages count.
 * @throws TypeError for a view of another type or over a detached buffer; RangeError for an empty view.
 *
 * @example
 * const node = nodeOfAddress(buffer); // the node of the buffer's first byte
 */
export function nodeOfAddress(view: MemoryView): number {
  const bytes = nonEmptyView(byteView(view, 'nodeOfAddress'), 'nodeOfAddress');
  return callNative('nodeOfAddress', 'for the first byte of the view', () => native.nodeOfAddress(bytes));
}

/**
 * The memory policy of the calling thread (the main thread or a worker).
 *
 * @throws NumaError ENOTSUP when the native addon is not available (see capabilities()).
 *
 * @example
 * threadPolicy().mode; // 'default' unless setThreadPolicy() changed it
 */
export function threadPolicy(): Policy {
  return policyFromNative(callNative('threadPolicy', 'for the calling thread', () => native.threadPolicy()));
}

export interface ThreadPolicySpec extends PolicySpec {
  /** MPOL_F_NUMA_BALANCING: let NUMA balancing move pages within the bound nodes (Linux 5.15+, 'bind' only). */
  numaBalancing?: boolean;
}

/**
 * Sets the memory policy of the calling thread: where its future allocations go (set_mempolicy).
 *
 * @param spec - `mode`, `nodes`, `staticNodes`, `relativeNodes`, `numaBalancing`.
 * @throws TypeError/RangeError for an invalid policy; NumaError ENODEV for a node that is not online or has no memory; NumaError ENOTSUP for a mode this kernel does not have.
 *
 * @example
 * setThreadPolicy({ mode: 'preferred', nodes: [1] }); // new memory of this thread on node 1
 */
export function setThreadPolicy(spec: ThreadPolicySpec): Policy {
  const fn = 'setThreadPolicy';
  const { fields, policy } = policyOf(fn, spec, 'spec', [...SPEC_KEYS, 'numaBalancing']);
  if (booleanOption(spec.numaBalancing, fn, 'numaBalancing')) policy.flags |= MPOL_F_NUMA_BALANCING;
  requirePolicyNodes(fn, fields);
  callNative(fn, `to mode '${spec.mode}', nodes [${policy.nodes.join(', ')}]`, () => native.setThreadPolicy(policy));
  return threadPolicy();
}

/**
 * Sets the home node of the pages a view covers (set_mempolicy_home_node,
 * Linux 5.17+): allocations prefer the allowed node nearest to it. Applies to
 * ranges with a 'bind' or 'preferred-many' policy.
 *
 * @param view - A Buffer, TypedArray, DataView, ArrayBuffer or SharedArrayBuffer; its whole pages count.
 * @param node - The home node, online with memory.
 * @param options - `expandToPages`.
 * @throws RangeError for a view not on page boundaries without `expandToPages`; NumaError ENODEV for a node that is not online or has no memory; NumaError EINVAL when the range has no 'bind' or 'preferred-many' policy; NumaError ENOTSUP before Linux 5.17.
 *
 * @example
 * bindBuffer(memory, { mode: 'bind', nodes: [0, 1] });
 * setHomeNode(memory, 1); // allocate on node 1 first, node 0 when it is full
 */
export function setHomeNode(view: MemoryView, node: number, options?: { expandToPages?: boolean }): PageRange {
  const fn = 'setHomeNode';
  const bytes = byteView(view, fn);
  const home = nodeArgument(node, fn);
  const { expandToPages } = optionsArgument(options, fn, ['expandToPages']);
  const range = pageRange(bytes, fn, booleanOption(expandToPages, fn, 'expandToPages'));
  requireHomeNode(fn);
  requireMemoryNodes(fn, [home]);
  if (range.pages === 0) return range;
  // The kernel skips mappings with no policy of their own without an error,
  // and stops at one of another mode after setting the ones before it.
  const other = spanPolicies(fn, range.byteSpan).find((policy) => !/^(bind|prefer \(many\))[=:]/.test(policy));
  if (other !== undefined) {
    throw conditionError(fn, 'EINVAL', `the range's policy is '${other}' in part`, "a home node needs a 'bind' or 'preferred-many' policy over all of it: set one with bindBuffer() first");
  }
  callNative(fn, `to node ${home}`, () => native.setHomeNode(bytes, home));
  return range;
}

/** The policy, as numa_maps shows it, of each mapping of this process a span covers. */
function spanPolicies(fn: string, { start, end }: { start: bigint; end: bigint }): string[] {
  const mappings = parseNumaMaps(readKernelFile(fn, '/proc/self/numa_maps'));
  // The mapping the span starts in is the last to start at or before it; numa_maps lists them in address order.
  const first = mappings.reduce((found, mapping, index) => (mapping.start <= start ? index : found), 0);
  return mappings.filter((mapping, index) => index >= first && mapping.start < end).map((mapping) => mapping.policy);
}
