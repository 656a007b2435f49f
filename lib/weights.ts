// Weighted interleave: the kernel's weights (Linux 6.9+, one sysfs file per
// node); the runs of a layout that gives a buffer weights of its own on any
// kernel, and a check of where a buffer's pages are against its weights;
// weights derived from the firmware's bandwidth figures.
import { writeFileSync } from 'node:fs';
import { nearNode, withoutNode } from './best-node';
import { type MemoryView, MAX_WEIGHT, nearArgument, type Near, nodeListArgument, optionsArgument, weightsArgument, weightsOrAutoArgument } from './checks';
import { callNative, conditionError, malformedFile } from './errors';
import { increment, PAGE_NOT_PRESENT, queryView } from './pages';
import { requireAutoWeights, requireMemoryNodes, requireWeightFiles, requireWritable } from './preconditions';
import { allowedMemoryNodes, memoryNodes, type NumaNode, numaNodes, readKernelFile, weightFiles, type WeightFiles } from './topology';

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

/** Whether `weights` are the kernel's own for their nodes, so that MPOL_WEIGHTED_INTERLEAVE gives them. */
export function kernelHasWeights(fn: string, weights: [number, number][]): boolean {
  const files = weightFiles();
  if (files === null) return false;
  const current = readWeights(fn, files).weights;
  return weights.every(([node, weight]) => current[node] === weight);
}

/**
 * `total` split in proportion to `weights` by largest remainder: whole
 * numbers that add up to `total`, each within one of its exact share.
 */
export function apportion(total: number, weights: readonly number[]): number[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  const exact = weights.map((weight) => (total * weight) / sum);
  const shares = exact.map(Math.floor);
  let left = total - shares.reduce((a, b) => a + b, 0);
  const byRemainder = exact.map((share, index) => ({ index, rest: share - shares[index] })).sort((a, b) => b.rest - a.rest || a.index - b.index);
  for (const { index } of byRemainder) {
    if (left-- <= 0) break;
    shares[index]++;
  }
  return shares;
}

/** One run of a user-space weighted layout: pages of the span with a policy for one node. */
export interface WeightedRun {
  /** The node its pages prefer. */
  node: number;
  /** Its first page, counted from the span's first. */
  first: number;
  /** How many pages it has. */
  pages: number;
}

/**
 * The most runs (each a memory mapping of its own: a policy boundary splits
 * a mapping) a user-space layout gives one buffer: 0.4 % of the default
 * vm.max_map_count (65530), which every mapping of the process shares.
 */
export const MAX_RUNS = 256;

/**
 * The runs of a weighted interleave laid out in user space over `pages`
 * pages: the whole units of `unitPages` (a huge page, so that each can be
 * one, or a page) apportioned to the nodes by weight, then in weighted round
 * robin, each node's turn `weight × k` units, `k` the smallest that keeps the
 * runs within `maxRuns`; the pages after the last whole unit apportioned page
 * by page. Adjacent runs of one node are one run.
 */
export function weightedRuns(pages: number, weights: [number, number][], unitPages: number, maxRuns = MAX_RUNS): WeightedRun[] {
  const units = Math.floor(pages / unitPages);
  const values = weights.map(([, weight]) => weight);
  const sum = values.reduce((a, b) => a + b, 0);
  const turns = Math.max(1, Math.floor(maxRuns / weights.length) - 1);
  const k = Math.max(1, Math.ceil(units / (sum * turns)));
  const left = apportion(units, values);
  const runs: WeightedRun[] = [];
  const add = (node: number, count: number) => {
    const last = runs.at(-1);
    const first = last ? last.first + last.pages : 0;
    if (last?.node === node) last.pages += count;
    else if (count > 0) runs.push({ node, first, pages: count });
  };
  while (left.some((units) => units > 0)) {
    weights.forEach(([node, weight], index) => {
      const turn = Math.min(weight * k, left[index]);
      left[index] -= turn;
      add(node, turn * unitPages);
    });
  }
  apportion(pages - units * unitPages, values).forEach((count, index) => add(weights[index][0], count));
  return runs;
}

/** Where a view's pages are beside where its weights would put them. */
export interface InterleaveCheck {
  /** Pages of the view on a node: what the shares are of. */
  pages: number;
  /** For each node with a weight or with pages: the pages on it, and the pages its weight gives it of `pages` (0 without a weight). */
  byNode: Map<number, { pages: number; expected: number }>;
  /** The largest difference between a node's share of the pages and its weight's share (0.01: one percentage point); null when no page is on a node. */
  deviation: number | null;
  /** Pages with no page of their own yet (never written): not counted. */
  notPresent: number;
  /** Pages whose node is unknown (PAGE_HIDDEN) or that the kernel gave an error for: not counted. */
  unknown: number;
}

/**
 * Where the pages of a view are, next to where `weights` would put them:
 * per node, the pages on it and the pages its weight's share of them comes to
 * (whole pages, by largest remainder), and the largest difference of shares.
 * Read back from the kernel, as placement() reads it; never-written pages are
 * left out.
 *
 * @param view - A Buffer, TypedArray, DataView, ArrayBuffer or SharedArrayBuffer; its whole pages count.
 * @param weights - `{ [node]: weight }`, weights from 1 to 255.
 * @throws TypeError/RangeError for a view of another type or invalid weights.
 *
 * @example
 * const { byNode, deviation } = interleaveCheck(buffer, { 0: 3, 1: 1 }); // byNode: Map { 0 => { pages: 12288, expected: 12288 }, … }
 */
export function interleaveCheck(view: MemoryView, weights: NodeWeights): InterleaveCheck {
  const fn = 'interleaveCheck';
  const given = weightsArgument(weights, fn);
  const { status } = queryView(view, undefined, fn);
  const counts = new Map<number, number>();
  let notPresent = 0;
  for (const entry of status) {
    if (entry >= 0) increment(counts, entry);
    else if (entry === PAGE_NOT_PRESENT) notPresent++;
  }
  const pages = [...counts.values()].reduce((a, b) => a + b, 0);
  const expected = apportion(pages, given.map(([, weight]) => weight));
  const entries = new Map(given.map(([node], index) => [node, { pages: counts.get(node) ?? 0, expected: expected[index] }]));
  for (const [node, count] of counts) if (!entries.has(node)) entries.set(node, { pages: count, expected: 0 });
  const byNode = new Map([...entries].sort(([a], [b]) => a - b));
  const differences = [...byNode.values()].map((entry) => Math.abs(entry.pages - entry.expected) / pages);
  return { pages, byNode, deviation: pages === 0 ? null : Math.max(...differences), notPresent, unknown: status.length - pages - notPresent };
}

/** How far apart two sets of proportions are: the largest relative difference of a share. */
function shareError(weights: readonly number[], figures: readonly number[]): number {
  const weightSum = weights.reduce((a, b) => a + b, 0);
  const figureSum = figures.reduce((a, b) => a + b, 0);
  return Math.max(...weights.map((weight, index) => Math.abs(weight / weightSum / (figures[index] / figureSum) - 1)));
}

/** How close weights must keep each node's share to its share of the figures. */
export const WEIGHT_TOLERANCE = 0.05;

/**
 * The smallest whole weights (1 to 255) proportional to positive `figures`:
 * the first largest weight, counting up from 1, at which every node's share
 * of the weights is within 5 % of its share of the figures; where none is,
 * the closest. Small weights keep runs short: a node waits for its turn no
 * longer than the other weights' sum.
 */
export function smallestWeights(figures: readonly number[]): number[] {
  const top = Math.max(...figures);
  let best = { weights: figures.map(() => 1), error: Infinity };
  for (let largest = 1; largest <= MAX_WEIGHT; largest++) {
    const weights = figures.map((figure) => Math.max(1, Math.round((largest * figure) / top)));
    const error = shareError(weights, figures);
    if (error <= WEIGHT_TOLERANCE) return weights;
    if (error < best.error) best = { weights, error };
  }
  return best.weights;
}

/** Weights derived from the machine's figures, and what they were derived from. */
export interface BandwidthWeights {
  /** `{ [node]: weight }`, as allocWeightedInterleaved(), bindBuffer() and setInterleaveWeights() take them. */
  weights: NodeWeights;
  /** 'hmat': proportional to the firmware's read bandwidth from `near`; 'distance': to the inverse of its SLIT distance. */
  basis: 'hmat' | 'distance';
  /** The figure of each node: read bandwidth in MB/s ('hmat') or distance, 10 = local ('distance'). */
  figures: NodeWeights;
}

export interface BandwidthWeightsOptions {
  /** Whose memory: the node of a CPU, a node, or the node of a PCI device, as bestNode() takes it. */
  near: { cpu: number } | { node: number } | { device: string };
  /** The nodes to weigh (default: the nodes with memory this process may use whose HMAT figures cover `near`, else all of them). */
  nodes?: number[];
}

/** The firmware's read bandwidth of `target` from node `from` (HMAT access0), where it gives one. */
function bandwidthFrom(target: NumaNode, from: number): number | null {
  return target.access?.initiators.includes(from) ? target.access.readBandwidthMBps : null;
}

/** The candidates of weightsFromBandwidth: the nodes asked for, else those with memory in the cpuset. */
function candidateNodes(fn: string, nodes: NumaNode[], asked: number[] | undefined): NumaNode[] {
  if (asked !== undefined) {
    requireMemoryNodes(fn, asked);
    return nodes.filter((node) => asked.includes(node.id));
  }
  const allowed = allowedMemoryNodes(fn);
  return nodes.filter((node) => node.hasMemory && allowed.includes(node.id));
}

/**
 * Interleave weights for memory used from `near` (a CPU, a node or a PCI
 * device): proportional to each node's read bandwidth from it where the
 * firmware's HMAT gives it, else to the inverse of the firmware's distance (a
 * node twice as far gets half the pages), reduced to the smallest whole
 * numbers that keep every node's share within 5 % (1 to 255). The kernel
 * gives a node's HMAT figures for its nearest initiators only, so by default
 * the nodes weighed are those whose figures cover `near`; nodes asked for
 * that are not all covered are weighed by distance.
 *
 * @param options - `near` ({ cpu }, { node } or { device }) and `nodes`.
 * @throws TypeError/RangeError for invalid options; NumaError ENODEV for a CPU, node or device this machine does not have, a device without a node, or a node asked for that is not online or has no memory; NumaError EACCES for a node outside this process's cpuset.
 *
 * @example
 * const { weights, basis } = weightsFromBandwidth({ near: { cpu: 0 } }); // { 0: 5, 2: 1 }, 'hmat' for DRAM at 20 GB/s and CXL at 4 GB/s
 */
export function weightsFromBandwidth(options: BandwidthWeightsOptions): BandwidthWeights {
  const fn = 'weightsFromBandwidth';
  const { near, nodes } = optionsArgument(options, fn, ['near', 'nodes']);
  const checkedNear: Near = nearArgument(near, fn);
  const asked = nodes === undefined ? undefined : nodeListArgument(nodes, fn, 'options.nodes');
  const all = numaNodes(fn);
  const from = nearNode(fn, checkedNear, all);
  if (from === null) throw withoutNode(fn, checkedNear);
  const candidates = candidateNodes(fn, all, asked);
  const covered = candidates.filter((node) => bandwidthFrom(node, from.id) !== null);
  const hmat = covered.length > 0 && (asked === undefined || covered.length === candidates.length);
  const chosen = hmat ? covered : candidates;
  const figures = chosen.map((node) => (hmat ? bandwidthFrom(node, from.id)! : from.distances[node.id]));
  const weights = smallestWeights(hmat ? figures : figures.map((distance) => 1 / distance));
  const byNode = (values: number[]) => Object.fromEntries(chosen.map((node, index) => [node.id, values[index]])) as NodeWeights;
  return { weights: byNode(weights), basis: hmat ? 'hmat' : 'distance', figures: byNode(figures) };
}
