import { native } from './binding';
import { booleanOption, byteView, nodeArgument, nodeListArgument, optionsArgument, sizeArgument, weightsArgument } from './checks';
import { callNative } from './errors';
import { POLICY_MODES } from './mempolicy';
import { bindWeighted, type PolicySpec, policyOf, type WeightedLayout } from './policy';
import { requireMemoryNodes, requirePolicyNodes } from './preconditions';
import type { NodeWeights } from './weights';

export interface AllocOptions {
  /**
   * true: ask for transparent huge pages (MADV_HUGEPAGE); false: refuse them (MADV_NOHUGEPAGE),
   * so that pages are placed one by one; unset: the system's THP setting decides.
   */
  hugePages?: boolean;
  /** Return an ArrayBuffer instead of a Buffer. */
  arrayBuffer?: boolean;
}

function allocOptions(fn: string, options: AllocOptions | undefined) {
  const { hugePages, arrayBuffer } = optionsArgument(options, fn, ['hugePages', 'arrayBuffer']);
  const huge = hugePages === undefined ? 'system' : booleanOption(hugePages, fn, 'hugePages') ? 'wanted' : 'unwanted';
  return { huge, asArrayBuffer: booleanOption(arrayBuffer, fn, 'arrayBuffer') } as const;
}

function allocate(fn: string, size: unknown, spec: PolicySpec, options: AllocOptions | undefined): Buffer | ArrayBuffer {
  const bytes = sizeArgument(size, fn);
  const { fields, policy } = policyOf(fn, spec, 'policy');
  const { huge, asArrayBuffer } = allocOptions(fn, options);
  requirePolicyNodes(fn, fields);
  return callNative(fn, `for ${bytes} bytes, mode '${spec.mode}', nodes [${policy.nodes.join(', ')}]`, () =>
    native.allocate(bytes, policy, huge, asArrayBuffer),
  );
}

/**
 * Page-aligned memory whose pages are all allocated on `node` (MPOL_BIND set
 * before the first touch), unmapped when collected. From one huge page up
 * (2 MiB on x86-64) it starts on a huge-page boundary.
 *
 * @param size - Bytes, rounded up to whole pages (at most 2^47 - 1).
 * @param node - A node with memory.
 * @param options - `hugePages`, `arrayBuffer`.
 * @throws TypeError/RangeError for an invalid size, node or option; NumaError ENODEV for a node that is not online or has no memory; NumaError ENOMEM (mmap) when the memory cannot be mapped.
 *
 * @example
 * const onNode1 = allocOnNode(256 * 2 ** 20, 1, { hugePages: true });
 */
export function allocOnNode(size: number, node: number, options?: AllocOptions & { arrayBuffer?: false }): Buffer;
export function allocOnNode(size: number, node: number, options: AllocOptions & { arrayBuffer: true }): ArrayBuffer;
export function allocOnNode(size: number, node: number, options?: AllocOptions): Buffer | ArrayBuffer {
  return allocate('allocOnNode', size, { mode: 'bind', nodes: [nodeArgument(node, 'allocOnNode')] }, options);
}

/**
 * Page-aligned memory whose pages are spread round-robin over `nodes` (MPOL_INTERLEAVE); from
 * one huge page up it starts on a huge-page boundary.
 *
 * @param size - Bytes, rounded up to whole pages (at most 2^47 - 1).
 * @param nodes - Nodes with memory, at least one.
 * @param options - `hugePages`, `arrayBuffer`.
 * @throws TypeError/RangeError for an invalid size, node list or option; NumaError ENODEV for a node that is not online or has no memory; NumaError ENOMEM (mmap) when the memory cannot be mapped.
 *
 * @example
 * const spread = allocInterleaved(256 * 2 ** 20, [0, 1]); // pages alternate between nodes 0 and 1
 */
export function allocInterleaved(size: number, nodes: number[], options?: AllocOptions & { arrayBuffer?: false }): Buffer;
export function allocInterleaved(size: number, nodes: number[], options: AllocOptions & { arrayBuffer: true }): ArrayBuffer;
export function allocInterleaved(size: number, nodes: number[], options?: AllocOptions): Buffer | ArrayBuffer {
  return allocate('allocInterleaved', size, { mode: 'interleave', nodes: nodeListArgument(nodes, 'allocInterleaved', 'nodes') }, options);
}

/**
 * Page-aligned memory allocated on the node of the CPU that first touches each page (MPOL_LOCAL);
 * from one huge page up it starts on a huge-page boundary.
 *
 * @param size - Bytes, rounded up to whole pages (at most 2^47 - 1).
 * @param options - `hugePages`, `arrayBuffer`.
 * @throws TypeError/RangeError for an invalid size or option; NumaError ENOMEM (mmap) when the memory cannot be mapped.
 *
 * @example
 * const scratch = allocLocal(64 * 2 ** 20); // each page on the node of the thread that first writes it
 */
export function allocLocal(size: number, options?: AllocOptions & { arrayBuffer?: false }): Buffer;
export function allocLocal(size: number, options: AllocOptions & { arrayBuffer: true }): ArrayBuffer;
export function allocLocal(size: number, options?: AllocOptions): Buffer | ArrayBuffer {
  return allocate('allocLocal', size, { mode: 'local' }, options);
}

/** Memory with weights of its own, and how they were applied. */
export interface WeightedAllocation<B extends Buffer | ArrayBuffer = Buffer> extends WeightedLayout {
  /** The memory: page-aligned, from one huge page up on a huge-page boundary, unmapped when collected. */
  buffer: B;
}

/**
 * Page-aligned memory whose pages are spread over nodes in proportion to
 * `weights` as they are first touched, on any kernel, the system's weights
 * unchanged: with MPOL_WEIGHTED_INTERLEAVE where the weights are the kernel's
 * own (`method: 'kernel'`), else laid out in runs of pages, each preferring
 * one node, in weighted round robin (`method: 'user-space'`). A run is whole
 * huge pages unless `hugePages: false`; a buffer has at most 256 runs, each a
 * memory mapping of its own, so runs grow with the buffer.
 *
 * @param size - Bytes, rounded up to whole pages (at most 2^47 - 1).
 * @param weights - `{ [node]: weight }`: weights from 1 to 255 for nodes with memory.
 * @param options - `hugePages`, `arrayBuffer`.
 * @throws TypeError/RangeError for an invalid size, weights or option; NumaError ENODEV for a node that is not online or has no memory; NumaError EACCES for a node outside this process's cpuset; NumaError ENOMEM when the memory cannot be mapped, or the process has too many mappings.
 *
 * @example
 * const { buffer, method } = allocWeightedInterleaved(256 * 2 ** 20, { 0: 3, 2: 1 }); // DRAM 3 : CXL 1
 */
export function allocWeightedInterleaved(size: number, weights: NodeWeights, options?: AllocOptions & { arrayBuffer?: false }): WeightedAllocation<Buffer>;
export function allocWeightedInterleaved(size: number, weights: NodeWeights, options: AllocOptions & { arrayBuffer: true }): WeightedAllocation<ArrayBuffer>;
export function allocWeightedInterleaved(size: number, weights: NodeWeights, options?: AllocOptions): WeightedAllocation<Buffer | ArrayBuffer> {
  const fn = 'allocWeightedInterleaved';
  const bytes = sizeArgument(size, fn);
  const given = weightsArgument(weights, fn);
  const { huge, asArrayBuffer } = allocOptions(fn, options);
  requireMemoryNodes(fn, given.map(([node]) => node));
  const policy = { mode: POLICY_MODES.default, flags: 0, nodes: [] };
  const buffer = callNative(fn, `for ${bytes} bytes`, () => native.allocate(bytes, policy, huge, asArrayBuffer));
  const unitPages = huge !== 'unwanted' && native.hugePageSize > 0 ? native.hugePageSize / native.pageSize : 1;
  return { buffer, ...bindWeighted(fn, byteView(buffer, fn), given, unitPages, 0) };
}
