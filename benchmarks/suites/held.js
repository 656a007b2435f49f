'use strict';
// A migration that meets a page the kernel cannot move: 8 pages, one of them
// held by a pipe (vmsplice, as I/O holds pages). The kernel retries that page
// inside move_pages and gives up; numaplace then offers it once more (its
// default `retries: 1`) and reads the pages back. Against one raw move_pages
// call over the same pages, pinned to one CPU, alternating, best of N; beside
// it `retries: 0`, and the same 8 pages with none held, which show how much of
// the ratio is numaplace's fixed cost per call rather than the held page's.
const { allocOnNode, migrateBufferSync, pinThread, threadAffinity, topology } = require('../../dist');
const { interleaved, timed } = require('../stats');

async function heldSuite({ raw, held, nodes, quick, record }) {
  if (nodes.length < 2) {
    return `skipped: needs two memory nodes, this machine has ${nodes.length} (npm run bench:vm runs it in the QEMU guest)`;
  }
  const [a, b] = nodes;
  const page = topology().pageSize;
  const buffer = allocOnNode(8 * page, a, { hugePages: false }).fill(6);
  const free = allocOnNode(8 * page, a, { hugePages: false }).fill(6);
  const repetitions = quick ? 20 : 100;
  const original = threadAffinity();
  pinThread([original.at(-1)]);
  held.holdPages(buffer.subarray(3 * page, 4 * page));
  try {
    const report = migrateBufferSync(buffer, b);
    if (report.onNode !== 7 || report.failedPages.size !== 1) throw new Error(`the held page moved, or more failed: ${JSON.stringify([...report.failedPages])}`);
    // Every contender moves its 8 pages from node a to node b: the pages it can move go back first, untimed.
    const fromA = (view, method) => async () => {
      raw.movePages(view, a);
      return method();
    };
    const samples = await interleaved(repetitions, {
      numaplace: fromA(buffer, () => timed(() => migrateBufferSync(buffer, b))),
      noRetry: fromA(buffer, () => timed(() => migrateBufferSync(buffer, b, { retries: 0 }))),
      raw: fromA(buffer, async () => raw.movePages(buffer, b)),
      numaplaceNoneHeld: fromA(free, () => timed(() => migrateBufferSync(free, b))),
      rawNoneHeld: fromA(free, async () => raw.movePages(free, b)),
    });
    const best = Object.fromEntries(Object.entries(samples).map(([name, values]) => [name, Math.min(...values)]));
    const ratios = [
      ['held/ratio', 'migrateBufferSync time ÷ raw move_pages, 8 pages with one held by a pipe', best.numaplace / best.raw, { op: '<=', value: 2 }],
      ['held/ratio-no-retry', 'the same with retries: 0 ÷ raw move_pages', best.noRetry / best.raw],
      ['held/ratio-none-held', 'migrateBufferSync time ÷ raw move_pages, the same 8 pages with none held', best.numaplaceNoneHeld / best.rawNoneHeld],
    ];
    for (const [id, title, value, goal] of ratios) record({ id, title: `${title} (best of each)`, unit: '×', goal, value });
    for (const [name, ns] of Object.entries(best)) record({ id: `held/${name}`, title: `${name}: 8 pages to the other node (best of ${repetitions})`, unit: 'µs', value: ns / 1e3 });
    record({ id: 'held/report', title: "migrateBufferSync's report: move_pages calls", unit: '', value: report.calls, details: { failed: Object.fromEntries(report.failed) } });
  } finally {
    held.release();
    pinThread(original);
  }
  return undefined;
}

module.exports = { heldSuite };
