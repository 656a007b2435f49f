// /proc/<pid>/numa_maps read in place. A service polls it, and a process can
// have tens of thousands of mappings, each of which the kernel describes on
// every read: the reading must add little to that. So one scanner walks the
// text by offsets (no split, no regular expression, no string per field)
// into one reused line record, and its two users take what they need:
// parseNumaMaps() an object per mapping, memoryOfMappings() totals only.
import { stringArgument } from './checks';

export type MappingKind = 'heap' | 'stack' | 'anon' | 'file' | 'huge' | 'other';

export const MAPPING_KINDS: readonly MappingKind[] = ['heap', 'stack', 'anon', 'file', 'huge', 'other'];

export interface MappingPlacement {
  /** The mapping's first address. */
  start: bigint;
  /** What the mapping holds: heap, stack, anonymous memory, a file, huge pages or other. */
  kind: MappingKind;
  /** The policy as numa_maps shows it, e.g. 'default', 'bind:1', 'interleave:0-1'. */
  policy: string;
  /** The mapped file, for file mappings. */
  file?: string;
  /** The size of the mapping's pages in KiB (4, or 2048 for huge pages). */
  pageSizeKiB: number;
  /** Pages of the mapping that are present, on any node. */
  pages: number;
  /** Present pages per node id. */
  byNode: Map<number, number>;
}

/**
 * One line of numa_maps as offsets into its text, overwritten by the next
 * line: "<address> <policy> [file=<path> | heap | stack] [huge] [anon=…] …
 * N<node>=<pages> … kernelpagesize_kB=<KiB>" (the kernel's show_numa_map()).
 * The path escapes spaces and '=', so every field is one space-separated token
 * but the policy of two modes, whose names have a space: "prefer (many):0-1",
 * "weighted interleave:0-1".
 */
interface Line {
  start: number;
  /** Where the policy token begins and ends. */
  policyStart: number;
  policyEnd: number;
  kind: MappingKind;
  /** The path of a file mapping (fileStart = -1 for none). */
  fileStart: number;
  fileEnd: number;
  pageSizeKiB: number;
  /** nodes[i] holds pages[i] pages, for i < nodeCount (in the kernel's order, by node id). */
  nodeCount: number;
  nodes: number[];
  pages: number[];
}

const DIGIT_0 = 0x30;
const LETTER_N = 0x4e;

function isDigit(code: number): boolean {
  return code >= DIGIT_0 && code <= DIGIT_0 + 9;
}

/** The decimal number at text[from, to). */
function decimal(text: string, from: number, to: number): number {
  let value = 0;
  for (let at = from; at < to; at++) value = value * 10 + text.charCodeAt(at) - DIGIT_0;
  return value;
}

/** Where the token starting at `from` ends: the next space, or the end of the line. */
function tokenEnd(text: string, from: number, lineEnd: number): number {
  const space = text.indexOf(' ', from);
  return space === -1 || space > lineEnd ? lineEnd : space;
}

/** Whether the token at [from, end) is exactly `word`. */
function tokenIs(text: string, from: number, end: number, word: string): boolean {
  return end - from === word.length && text.startsWith(word, from);
}

/**
 * The kind of the mapping whose tokens after the policy start at `from`, as
 * numastat -p sorts them: heap, stack, hugetlb, file, anonymous; a mapping
 * with none of these marks (no pages, or only pages mapped from elsewhere) is 'other'.
 */
function readKind(text: string, line: Line, from: number, lineEnd: number): void {
  let end = tokenEnd(text, from, lineEnd);
  line.fileStart = -1;
  line.fileEnd = -1;
  if (tokenIs(text, from, end, 'heap')) return void (line.kind = 'heap');
  if (tokenIs(text, from, end, 'stack')) return void (line.kind = 'stack');
  if (text.startsWith('file=', from)) {
    line.fileStart = from + 5;
    line.fileEnd = end;
    from = end + 1;
    end = tokenEnd(text, from, lineEnd);
  }
  if (from < lineEnd && tokenIs(text, from, end, 'huge')) line.kind = 'huge';
  else if (line.fileStart !== -1) line.kind = 'file';
  else line.kind = from < lineEnd && text.startsWith('anon=', from) ? 'anon' : 'other';
}

/** The trailing "N<node>=<pages> … kernelpagesize_kB=<KiB>" tokens, read from the end of the line. */
function readNodes(text: string, line: Line, lineEnd: number): void {
  line.nodeCount = 0;
  line.pageSizeKiB = 4;
  let space = text.lastIndexOf(' ', lineEnd - 1);
  // A mapping without present pages ends at its kind: no counts, no page size.
  if (space < line.policyEnd || !text.startsWith('kernelpagesize_kB=', space + 1)) return;
  line.pageSizeKiB = decimal(text, space + 19, lineEnd);
  for (let end = space; end > line.policyEnd; end = space) {
    space = text.lastIndexOf(' ', end - 1);
    if (text.charCodeAt(space + 1) !== LETTER_N || !isDigit(text.charCodeAt(space + 2))) break;
    const equals = text.indexOf('=', space + 2);
    line.nodes[line.nodeCount] = decimal(text, space + 2, equals);
    line.pages[line.nodeCount] = decimal(text, equals + 1, end);
    line.nodeCount++;
  }
}

/** Where the policy starting at `from` ends: its token, and the next one for the two modes with a space in their names. */
function policyEnd(text: string, from: number, lineEnd: number): number {
  const end = tokenEnd(text, from, lineEnd);
  const spaced = tokenIs(text, from, end, 'prefer') || tokenIs(text, from, end, 'weighted');
  return spaced && end < lineEnd ? tokenEnd(text, end + 1, lineEnd) : end;
}

/** Calls `visit` with each mapping of numa_maps text, in order, as a Line valid until `visit` returns. */
function scanNumaMaps(text: string, visit: (line: Line, text: string) => void): void {
  const line: Line = { start: 0, policyStart: 0, policyEnd: 0, kind: 'other', fileStart: -1, fileEnd: -1, pageSizeKiB: 4, nodeCount: 0, nodes: [], pages: [] };
  for (let start = 0; start < text.length; ) {
    let lineEnd = text.indexOf('\n', start);
    if (lineEnd === -1) lineEnd = text.length;
    const addressEnd = text.indexOf(' ', start);
    if (addressEnd !== -1 && addressEnd < lineEnd && addressEnd > start) {
      line.start = start;
      line.policyStart = addressEnd + 1;
      line.policyEnd = policyEnd(text, line.policyStart, lineEnd);
      readKind(text, line, line.policyEnd + 1, lineEnd);
      readNodes(text, line, lineEnd);
      visit(line, text);
    }
    start = lineEnd + 1;
  }
}

/**
 * Parses numa_maps text (one line per mapping: address, policy, key=value fields).
 *
 * @param text - The contents of a /proc/<pid>/numa_maps file.
 * @throws TypeError for a value that is not a string.
 *
 * @example
 * const mappings = parseNumaMaps(readFileSync('/proc/self/numa_maps', 'utf8'));
 */
export function parseNumaMaps(text: string): MappingPlacement[] {
  stringArgument(text, 'parseNumaMaps', 'text', 'the text of a numa_maps file');
  const mappings: MappingPlacement[] = [];
  scanNumaMaps(text, (line) => {
    const byNode = new Map<number, number>();
    let pages = 0;
    // Read from the end, the counts come highest node first: back into the kernel's order.
    for (let i = line.nodeCount - 1; i >= 0; i--) {
      byNode.set(line.nodes[i], line.pages[i]);
      pages += line.pages[i];
    }
    mappings.push({
      start: BigInt(`0x${text.slice(line.start, line.policyStart - 1)}`),
      kind: line.kind,
      policy: text.slice(line.policyStart, line.policyEnd),
      ...(line.fileStart !== -1 ? { file: text.slice(line.fileStart, line.fileEnd) } : {}),
      pageSizeKiB: line.pageSizeKiB,
      pages,
      byNode,
    });
  });
  return mappings;
}

/** A process's resident memory by node: numastat -p's view of numa_maps. */
export interface MappingTotals {
  /** How many mappings numa_maps listed. */
  mappings: number;
  /** Bytes per node for each kind of mapping. */
  bytesByKind: Record<MappingKind, Map<number, number>>;
  /** Bytes per node, all kinds together. */
  bytesByNode: Map<number, number>;
  /**
   * Bytes per node of anonymous memory (heap, stack, anon) under the default
   * policy: what NUMA balancing scans (it skips ranges with a policy of their
   * own unless that policy lets it in, '=balancing', and hugetlb and file pages).
   */
  balancedBytesByNode: Map<number, number>;
}

/** Whether NUMA balancing scans a mapping of this policy and kind (see MappingTotals.balancedBytesByNode). */
function balanced(text: string, line: Line): boolean {
  if (line.kind !== 'heap' && line.kind !== 'stack' && line.kind !== 'anon') return false;
  if (tokenIs(text, line.policyStart, line.policyEnd, 'default')) return true;
  // "<mode>[=<flags>][:<nodes>]": only a flag can spell it (MPOL_F_NUMA_BALANCING).
  return text.slice(line.policyStart, line.policyEnd).includes('balancing');
}

/** Adds `bytes` to entry `node` of a per-node tally (an array indexed by node id, for speed). */
function tally(counts: number[], node: number, bytes: number): void {
  while (counts.length <= node) counts.push(0);
  counts[node] += bytes;
}

function tallyMap(counts: number[]): Map<number, number> {
  const map = new Map<number, number>();
  counts.forEach((bytes, node) => bytes > 0 && map.set(node, bytes));
  return map;
}

/**
 * The totals of numa_maps text: bytes of present pages per node, by kind,
 * each mapping's counts sized by its own kernelpagesize_kB (2 MiB and 1 GiB
 * hugetlb pages count whole; transparent huge pages are counted in base pages).
 */
export function memoryOfMappings(text: string): MappingTotals {
  const byKind = MAPPING_KINDS.map((): number[] => []);
  const all: number[] = [];
  const balancedCounts: number[] = [];
  let mappings = 0;
  scanNumaMaps(text, (line) => {
    mappings++;
    if (line.nodeCount === 0) return;
    const kind = byKind[MAPPING_KINDS.indexOf(line.kind)];
    const scanned = balanced(text, line);
    for (let i = 0; i < line.nodeCount; i++) {
      const bytes = line.pages[i] * line.pageSizeKiB * 1024;
      tally(kind, line.nodes[i], bytes);
      tally(all, line.nodes[i], bytes);
      if (scanned) tally(balancedCounts, line.nodes[i], bytes);
    }
  });
  const bytesByKind = Object.fromEntries(MAPPING_KINDS.map((kind, index) => [kind, tallyMap(byKind[index])])) as MappingTotals['bytesByKind'];
  return { mappings, bytesByKind, bytesByNode: tallyMap(all), balancedBytesByNode: tallyMap(balancedCounts) };
}
