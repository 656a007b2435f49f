'use strict';
// A migration that meets a page the kernel cannot move: 8 pages, one of them
// held by a pipe (vmsplice, as I/O holds pages). The kernel retries that page
// inside move_pages and gives up; numaplace then offers it once more (its
// default `retries: 1`) and reads the pages back. Against one raw move_pages
// call over the same pages, pinned to one CPU, alternating, best of N.
const { allocOnNode, migrateBufferSync, pinThread, threadAffinity, topology } = require('../../dist');
const { interleaved, timed } = require('../stats');

async function heldSuite({ raw, held, nodes, quick, record }) {
  if (nodes.length < 2) {
    return `skipped: needs two memory nodes, this machine has ${nodes.length} (npm run bench:vm runs it in the QEMU guest)`;
  }
  const [a, b] = nodes;
  const page = topology().pageSize;
  const buffer = allocOnNode(8 * page, a, { hugePages: false }).fill(6);
  const repetitions = quick ? 20 : 100;
  const original = threadAffinity();
  pinThread([original.at(-1)]);
  held.holdPages(buffer.subarray(3 * page, 4 * page));
  try {
    const report = migrateBufferSync(buffer, b);
    if (report.onNode !== 7 || report.failedPages.size !== 1) throw new Error(`the held page moved, or more failed: ${JSON.stringify([...report.failedPages])}`);
    // Each contender moves the 8 pages from node a to node b: the 7 it can move go back first, untimed.
    const fromA = (method) => async () => {
      raw.movePages(buffer, a);
      return method();
    };
    const samples = await interleaved(repetitions, {
      numaplace: fromA(() => timed(() => migrateBufferSync(buffer, b))),
      raw: fromA(async () => raw.movePages(buffer, b)),
    });
    const best = { numaplace: Math.min(...samples.numaplace), raw: Math.min(...samples.raw) };
    record({
      id: 'held/ratio',
      title: 'migrateBufferSync time ÷ raw move_pages, 8 pages with one held by a pipe (best of each)',
      unit: '×',
      goal: { op: '<=', value: 2 },
      value: best.numaplace / best.raw,
      details: { calls: report.calls, failed: Object.fromEntries(report.failed) },
    });
    const titles = { numaplace: 'migrateBufferSync of 8 pages, one held by a pipe', raw: 'raw move_pages of the same 8 pages' };
    for (const [name, title] of Object.entries(titles)) {
      record({ id: `held/${name}`, title: `${title} (best of ${repetitions})`, unit: 'µs', value: best[name] / 1e3 });
    }
  } finally {
    held.release();
    pinThread(original);
  }
  return undefined;
}

module.exports = { heldSuite };
