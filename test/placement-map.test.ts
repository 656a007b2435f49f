import t from 'tap';
import { allocOnNode, formatPlacementMap, migrateBufferSync, PAGE_HIDDEN, PAGE_NOT_PRESENT, placementMap, topology } from '../lib/index';
import { filledBuffer, freshMemory, memoryNodeIds, multiNodeOrSkip } from './helpers';

const PAGE = topology().pageSize;

t.test('formatPlacementMap: one symbol per page group, exact counts in the legend', async (t) => {
  const ENXIO = -6;
  const status = Int32Array.from([0, 0, 1, 1, 0, 1, PAGE_NOT_PRESENT, PAGE_NOT_PRESENT, PAGE_HIDDEN, PAGE_NOT_PRESENT, 1, ENXIO]);
  t.equal(
    formatPlacementMap(status, { width: 4, maxCells: 6 }),
    '01*.\n?1\n1 cell = 2 pages · 0 node 0: 3 · 1 node 1: 4 · . not present: 3 · ? node unknown (hidden by NUMA balancing): 1 · ! error: 1 · * pages on more than one node',
  );
  t.equal(formatPlacementMap(status, { legend: false }), '001101..?.1!', 'one cell per page when they fit');
  t.equal(formatPlacementMap(Int32Array.from([10, 35, 36, 1023]), { legend: false }), 'az##');
  t.equal(formatPlacementMap(new Int32Array(0)), '1 cell = 1 page · ', 'an empty span has only the legend');
  t.equal(formatPlacementMap(new Int32Array(1000), { legend: false }).length, 250 + 3, '1000 pages fit into 250 cells on 4 lines');
  t.throws(() => formatPlacementMap([0, 1] as unknown as Int32Array), { name: 'TypeError', message: /formatPlacementMap: .*`status`/ });
  t.throws(() => formatPlacementMap(status, { width: 0 }), { name: 'RangeError', message: /options\.width/ });
  t.throws(() => formatPlacementMap(status, { maxCells: 1.5 }), { name: 'RangeError', message: /options\.maxCells/ });
  t.throws(() => formatPlacementMap(status, { legend: 'no' as unknown as boolean }), { name: 'TypeError', message: /options\.legend/ });
});

t.test('placementMap reads the pages of a view from the kernel', async (t) => {
  const node = memoryNodeIds()[0];
  const bytes = 64 * PAGE;
  const onNode = allocOnNode(bytes, node, { hugePages: false });
  onNode.fill(1);
  t.equal(placementMap(onNode, { legend: false }), String(node).repeat(64));
  t.match(placementMap(onNode), new RegExp(`1 cell = 1 page · ${node} node ${node}: 64$`));
  const fresh = freshMemory(bytes);
  t.match(placementMap(fresh, { maxCells: 8, legend: false }), /^\.+$/, 'never-written memory is not present');
  // Populated on the node of the CPU that runs this, whichever it is.
  t.match(placementMap(fresh, { prefault: true, maxCells: 8, legend: false }), /^(\d)\1*$/, 'prefault populates it, all on one node');
  t.throws(() => placementMap(onNode, { width: -1, prefault: true }), { name: 'RangeError', message: /^placementMap: .*options\.width/ });
  t.throws(() => placementMap('x' as unknown as Uint8Array), { name: 'TypeError', message: /^placementMap: .*`view`/ });
});

t.test('multi-node: the map shows each half of a buffer on its node', async (t) => {
  const nodes = multiNodeOrSkip(t);
  if (!nodes) return;
  const [a, b] = nodes;
  const buffer = allocOnNode(32 * PAGE, a, { hugePages: false });
  buffer.set(filledBuffer(buffer.length));
  migrateBufferSync(buffer.subarray(16 * PAGE), b);
  const [cells, legend] = placementMap(buffer).split('\n');
  t.equal(cells, String(a).repeat(16) + String(b).repeat(16));
  t.equal(legend, `1 cell = 1 page · ${Math.min(a, b)} node ${Math.min(a, b)}: 16 · ${Math.max(a, b)} node ${Math.max(a, b)}: 16`);
});
