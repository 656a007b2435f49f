// Weighted interleave: the kernel's weights (Linux 6.9+, one sysfs file per
// node).
import { writeFileSync } from 'node:fs';
import { MAX_WEIGHT, weightsOrAutoArgument } from './checks';
import { callNative, conditionError, malformedFile } from './errors';
import { requireAutoWeights, requireMemoryNodes, requireWeightFiles, requireWritable } from './preconditions';
import { memoryNodes, readKernelFile, weightFiles, type WeightFiles } from './topology';

/** Interleave weights by node id: `{ 0: 3, 1: 1 }` puts three pages on node 0 for each page on node 1. */
export type NodeWeights = Record<number, number>;

/** The kernel's weighted-interleave settings (/sys/kernel/mm/mempolicy/weighted_interleave). */
export interface InterleaveWeights {
  /** The weight of each node with memory (1 until set), by node id. */
  weights: NodeWeights;
  /** Whether the kernel derives the weights from the firmware's bandwidth figures (auto mode, Linux 6.16+); null before 6.16. */
  auto: boolean | null;
}

function readWeight(fn: string, file: string): number {
  const text = readKernelFile(fn, file);
  const weight = /^\d{1,3}\s*$/.test(text) ? Number(text) : 0;
  if (weight < 1 || weight > MAX_WEIGHT) throw malformedFile(fn, file, text, `a weight from 1 to ${MAX_WEIGHT}`);
  return weight;
}

// The auto file's values: 'true'/'false' as 6.16 writes them, 'Y'/'N' as its last drafts did.
const AUTO_VALUES = new Map([
  ['true', true],
  ['Y', true],
  ['false', false],
  ['N', false],
]);

function readAuto(fn: string, file: string): boolean {
  const text = readKernelFile(fn, file);
  const value = AUTO_VALUES.get(text.trim());
  if (value === undefined) throw malformedFile(fn, file, text, "'true' or 'false'");
  return value;
}

/** The weights of the nodes with memory (Linux 6.9 to 6.15 give every possible node a weight, which means nothing without memory). */
function readWeights(fn: string, files: WeightFiles): InterleaveWeights {
  const weights: NodeWeights = {};
  const withMemory = memoryNodes(fn);
  for (const [node, file] of files.nodes) if (withMemory.includes(node)) weights[node] = readWeight(fn, file);
  return { weights, auto: files.auto === null ? null : readAuto(fn, files.auto) };
}

/**
 * The kernel's weighted-interleave weights, which MPOL_WEIGHTED_INTERLEAVE
 * policies (`{ mode: 'weighted-interleave' }` without weights) follow: the
 * weight of each node, and whether auto mode derives them from the firmware
 * (Linux 6.16+). Null where the kernel has no weighted interleave (before 6.9).
 * The weights are of the nodes with memory, so that they can be set back as
 * they are (`setInterleaveWeights(saved.weights)`).
 *
 * @throws NumaError naming the file when sysfs holds something other than a weight.
 *
 * @example
 * console.log(interleaveWeights()); // { weights: { 0: 1, 1: 1 }, auto: null } on Linux 6.12; null on 6.1
 */
export function interleaveWeights(): InterleaveWeights | null {
  const files = weightFiles();
  return files === null ? null : readWeights('interleaveWeights', files);
}

/** The file and text of each weight to write, for memory nodes with a weight file. */
function weightWrites(fn: string, files: WeightFiles, weights: [number, number][]): [string, string][] {
  requireMemoryNodes(fn, weights.map(([node]) => node), { inCpuset: false });
  return weights.map(([node, weight]) => {
    const file = files.nodes.get(node);
    if (file === undefined) throw conditionError(fn, 'ENODEV', `node ${node} has no weight file in the kernel's sysfs`);
    return [file, String(weight)];
  });
}

/**
 * Sets the kernel's weighted-interleave weights, for every process of the
 * system (root only): the given nodes' weights (the others keep theirs; on
 * Linux 6.16+ this turns auto mode off), or `'auto'` to have the kernel derive
 * them from the firmware's bandwidth figures (Linux 6.16+). Pages already
 * allocated stay where they are. Returns the weights read back.
 *
 * @param weights - `{ [node]: weight }`, weights from 1 to 255 for online nodes with memory, or `'auto'`.
 * @throws TypeError/RangeError for weights that are not whole numbers from 1 to 255 by node id; NumaError ENOTSUP before Linux 6.9, or for 'auto' before 6.16 (naming the kernel); NumaError ENODEV for a node that is not online or has no memory, or for 'auto' where the firmware gives no bandwidth; NumaError EACCES for a user other than root (EROFS where sysfs is read-only).
 *
 * @example
 * setInterleaveWeights({ 0: 3, 1: 1 }); // MPOL_WEIGHTED_INTERLEAVE: three pages on node 0 for one on node 1
 */
export function setInterleaveWeights(weights: NodeWeights | 'auto'): InterleaveWeights {
  const fn = 'setInterleaveWeights';
  const asked = weightsOrAutoArgument(weights, fn);
  const files = requireWeightFiles(fn);
  const writes: [string, string][] = asked === 'auto' ? [[requireAutoWeights(fn, files), 'true']] : weightWrites(fn, files, asked);
  for (const [file] of writes) requireWritable(fn, file);
  for (const [file, text] of writes) callNative(fn, `writing ${text} to ${file}`, () => writeFileSync(file, text));
  return readWeights(fn, files);
}
