import { increment, PAGE_HIDDEN, PAGE_NOT_PRESENT, type PageNodesOptions, queryView } from './pages';
import { booleanOption, int32ArrayArgument, type MemoryView, optionsArgument, positiveIntegerOption } from './checks';

export interface PlacementMapOptions extends PageNodesOptions {
  /** Cells per line. Default 64. */
  width?: number;
  /** At most this many cells; each cell then stands for several pages. Default 256. */
  maxCells?: number;
  /** Append a legend line: pages per cell and page counts per symbol. Default true. */
  legend?: boolean;
}

const NODE_SYMBOLS = '0123456789abcdefghijklmnopqrstuvwxyz';

/** The symbol of a node in a placement map: 0-9, then a-z; '#' beyond node 35. */
function nodeSymbol(node: number): string {
  return NODE_SYMBOLS[node] ?? '#';
}

const SYMBOL_MEANING = {
  '*': 'pages on more than one node',
  '.': 'not present',
  '?': 'node unknown (hidden by NUMA balancing)',
  '!': 'error',
} as const;

type Category = number | keyof typeof SYMBOL_MEANING;

function category(status: number): Category {
  if (status >= 0) return status;
  if (status === PAGE_NOT_PRESENT) return '.';
  if (status === PAGE_HIDDEN) return '?';
  return '!';
}

/**
 * One cell for a group of pages: the node their present pages are on, '*' when
 * they are on more than one node; without a page on a node: '!' if the kernel
 * gave an error for one, '?' if one is hidden, else '.' (none present).
 */
function cellSymbol(group: Int32Array): string {
  let node: number | undefined;
  let fallback: Category = '.';
  for (const status of group) {
    const kind = category(status);
    if (typeof kind === 'number') {
      if (node !== undefined && node !== kind) return '*';
      node = kind;
    } else if (kind === '!' || (kind === '?' && fallback === '.')) {
      fallback = kind;
    }
  }
  return node === undefined ? fallback : nodeSymbol(node);
}

function legendLine(status: Int32Array, pagesPerCell: number): string {
  const counts = new Map<Category, number>();
  for (const entry of status) increment(counts, category(entry));
  const nodes = [...counts.keys()].filter((key): key is number => typeof key === 'number').sort((a, b) => a - b);
  const parts = nodes.map((node) => `${nodeSymbol(node)} node ${node}: ${counts.get(node)}`);
  for (const symbol of ['.', '?', '!'] as const) {
    if (counts.has(symbol)) parts.push(`${symbol} ${SYMBOL_MEANING[symbol]}: ${counts.get(symbol)}`);
  }
  if (pagesPerCell > 1 && nodes.length > 1) parts.push(`* ${SYMBOL_MEANING['*']}`);
  const unit = pagesPerCell === 1 ? '1 cell = 1 page' : `1 cell = ${pagesPerCell} pages`;
  return `${unit} · ${parts.join(' · ')}`;
}

/** The layout options of formatPlacementMap (no query, so no prefault). */
export type PlacementMapFormat = Omit<PlacementMapOptions, 'prefault'>;

const LAYOUT_KEYS = ['width', 'maxCells', 'legend'];

interface Layout {
  cellsPerLine: number;
  maxCells: number;
  legend: boolean;
}

function layoutOptions(options: PlacementMapFormat, fn: string): Layout {
  const { width, maxCells, legend } = options;
  return {
    cellsPerLine: positiveIntegerOption(width, fn, 'width', 64),
    maxCells: positiveIntegerOption(maxCells, fn, 'maxCells', 256),
    legend: booleanOption(legend, fn, 'legend', true),
  };
}

function renderMap(status: Int32Array, layout: Layout): string {
  const pagesPerCell = Math.max(1, Math.ceil(status.length / layout.maxCells));
  let cells = '';
  for (let page = 0; page < status.length; page += pagesPerCell) cells += cellSymbol(status.subarray(page, page + pagesPerCell));
  const lines: string[] = [];
  for (let start = 0; start < cells.length; start += layout.cellsPerLine) lines.push(cells.slice(start, start + layout.cellsPerLine));
  if (layout.legend) lines.push(legendLine(status, pagesPerCell));
  return lines.join('\n');
}

/**
 * A compact text picture of page statuses (from pageNodes(), movePages() or a
 * migration report's `status`): one symbol per page or group of pages, lines of
 * `width` cells, then a legend with exact page counts per node.
 *
 * @param status - Page statuses (pageNodes(), movePages() or a report's `status`).
 * @param options - width, maxCells, legend.
 * @throws TypeError/RangeError for a status that is not an Int32Array or invalid options.
 *
 * @example
 * formatPlacementMap(pageNodes(buffer), { width: 32 });
 * // 00000000000000001111111111111111
 * // 1 cell = 4 pages · 0 node 0: 64 · 1 node 1: 64 · * pages on more than one node
 */
export function formatPlacementMap(status: Int32Array, options?: PlacementMapFormat): string {
  const fn = 'formatPlacementMap';
  const statuses = int32ArrayArgument(status, fn, 'status', 'an Int32Array of page statuses');
  return renderMap(statuses, layoutOptions(optionsArgument(options, fn, LAYOUT_KEYS), fn));
}

/**
 * A text map of where the pages spanned by `view` live (see formatPlacementMap);
 * a query, so it moves nothing.
 *
 * @param view - A Buffer, TypedArray, DataView, ArrayBuffer or SharedArrayBuffer; its whole pages count.
 * @param options - width, maxCells, legend, prefault.
 * @throws The errors of pageNodes() and formatPlacementMap().
 *
 * @example
 * console.log(placementMap(buffer));
 */
export function placementMap(view: MemoryView, options?: PlacementMapOptions): string {
  const { prefault, ...format } = optionsArgument(options, 'placementMap', [...LAYOUT_KEYS, 'prefault']);
  const layout = layoutOptions(format, 'placementMap');
  return renderMap(queryView(view, { prefault }, 'placementMap').status, layout);
}
