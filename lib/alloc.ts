import { native } from './binding';
import { booleanOption, nodeArgument, nodeListArgument, optionsArgument, sizeArgument } from './checks';
import { callNative } from './errors';
import { type PolicySpec, policyOf } from './policy';
import { requirePolicyNodes } from './preconditions';

export interface AllocOptions {
  /**
   * true: ask for transparent huge pages (MADV_HUGEPAGE); false: refuse them (MADV_NOHUGEPAGE),
   * so that pages are placed one by one; unset: the system's THP setting decides.
   */
  hugePages?: boolean;
  /** Return an ArrayBuffer instead of a Buffer. */
  arrayBuffer?: boolean;
}

function allocate(fn: string, size: unknown, spec: PolicySpec, options: AllocOptions | undefined): Buffer | ArrayBuffer {
  const bytes = sizeArgument(size, fn);
  const { fields, policy } = policyOf(fn, spec, 'policy');
  const { hugePages, arrayBuffer } = optionsArgument(options, fn, ['hugePages', 'arrayBuffer']);
  const huge = hugePages === undefined ? 'system' : booleanOption(hugePages, fn, 'hugePages') ? 'wanted' : 'unwanted';
  const asArrayBuffer = booleanOption(arrayBuffer, fn, 'arrayBuffer');
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
