'use strict';
// With NUMA balancing on, the scanner hides pages from move_pages (it unmaps
// them to learn who uses them). numaplace finds such pages and faults them back
// in so that they move too; a raw caller has to touch every page before its
// move_pages for the same result. This suite times both on pages the scanner
// has just hidden, in the guest (root: it turns balancing on for itself and
// makes the scanner eager through debugfs, then restores both).
const { readFileSync, writeFileSync } = require('node:fs');
const { migrateBufferSync, pinThread, placement, threadAffinity, topology } = require('../../dist');
const { ratio, summary, timed } = require('../stats');

const MiB = 2 ** 20;
const BALANCING = '/proc/sys/kernel/numa_balancing';
const SCANNER = '/sys/kernel/debug/sched/numa_balancing';

/** Sets each file, returns what restores them all; throws where they cannot be written. */
function setAll(settings) {
  const restores = [];
  try {
    for (const [file, value] of Object.entries(settings)) {
      const before = readFileSync(file, 'utf8').trim();
      writeFileSync(file, value);
      restores.push(() => writeFileSync(file, before));
    }
  } catch (error) {
    restores.reverse().forEach((undo) => undo());
    throw error;
  }
  return () => restores.reverse().forEach((undo) => undo());
}

/**
 * Runs (the scanner works in the ticks of a running task, never a sleeping one)
 * until it has hidden at least half of the buffer's pages, or 10 s; returns how many it hid.
 */
function scannerHides(buffer) {
  const stopAt = Date.now() + 10000;
  let hidden = 0;
  while (Date.now() < stopAt) {
    const spinUntil = Date.now() + 100;
    while (Date.now() < spinUntil); // busy, without touching the buffer
    const where = placement(buffer);
    hidden = where.hidden;
    if (hidden * 2 >= where.pages) break;
  }
  return hidden;
}

async function balancingSuite({ raw, nodes, quick, record }) {
  if (!process.env.NUMAPLACE_VM_TOPOLOGY) return 'skipped: runs in the guest (npm run bench:vm), where it may turn NUMA balancing on';
  if (nodes.length < 2) return 'skipped: needs two memory nodes';
  let restore;
  try {
    restore = setAll({ [BALANCING]: '1', [`${SCANNER}/scan_period_min_ms`]: '100', [`${SCANNER}/scan_period_max_ms`]: '100' });
  } catch (error) {
    return `skipped: cannot turn NUMA balancing on and make its scanner eager (${error.code})`;
  }
  const original = threadAffinity();
  try {
    const [a, b] = nodes;
    const home = topology().nodes.find((node) => node.id === a);
    pinThread([home.cpus[0]]); // hinting faults from node a's CPU: no reason to pull pages to b
    const bytes = 32 * MiB;
    // A plain Buffer: the scanner skips ranges with a policy of their own (allocOnNode's bind)
    // unless the policy lets NUMA balancing in.
    const buffer = Buffer.allocUnsafeSlow(bytes).fill(9);
    migrateBufferSync(buffer, a);
    const page = topology().pageSize;
    let where = a;
    const samples = { numaplace: [], countMoved: [], raw: [] };
    const hiddenAtStart = [];
    const notOnTarget = { numaplace: 0, countMoved: 0, raw: 0 };
    const contenders = {
      numaplace: (to) => timed(() => migrateBufferSync(buffer, to)),
      // Its query before the move faults hidden pages in too, a run of them at a time.
      countMoved: (to) => timed(() => migrateBufferSync(buffer, to, { countMoved: true })),
      raw: async (to) => {
        let sum = 0;
        const touched = await timed(() => {
          for (let offset = 0; offset < buffer.length; offset += page) sum += buffer[offset];
        });
        return sum >= 0 ? touched + raw.movePages(buffer, to) : 0;
      },
    };
    const repetitions = quick ? 3 : 6;
    for (let round = 0; round < repetitions; round++) {
      const names = Object.keys(contenders);
      for (const name of names.map((_, k) => names[(round + k) % names.length])) {
        hiddenAtStart.push(scannerHides(buffer));
        const to = where === a ? b : a;
        samples[name].push(await contenders[name](to));
        notOnTarget[name] += placement(buffer).pages - (placement(buffer).byNode.get(to) ?? 0);
        where = to;
      }
    }
    const pages = bytes / page;
    record({ id: 'balancing/hidden-at-start', title: `pages hidden by the scanner when a move began, of ${pages}`, unit: 'pages', ...summary(hiddenAtStart) });
    record({ id: 'balancing/numaplace', title: 'migrateBufferSync of 32 MiB with pages hidden (faults them in, moves all)', unit: 'ms', ...summary(samples.numaplace.map((ns) => ns / 1e6)) });
    record({ id: 'balancing/count-moved', title: 'migrateBufferSync with countMoved of 32 MiB with pages hidden', unit: 'ms', ...summary(samples.countMoved.map((ns) => ns / 1e6)) });
    record({ id: 'balancing/raw', title: 'raw: touch every page, then move_pages, 32 MiB with pages hidden', unit: 'ms', ...summary(samples.raw.map((ns) => ns / 1e6)) });
    record({
      id: 'balancing/ratio',
      title: 'truthful migration time ÷ raw touch-then-move, pages hidden by NUMA balancing',
      unit: '×',
      details: { pagesLeftBehind: notOnTarget },
      ...ratio(samples.numaplace, samples.raw),
    });
    record({
      id: 'balancing/count-moved-ratio',
      title: 'with countMoved ÷ raw touch-then-move, pages hidden by NUMA balancing',
      unit: '×',
      ...ratio(samples.countMoved, samples.raw),
    });
  } finally {
    pinThread(original);
    restore();
  }
  return undefined;
}

module.exports = { balancingSuite };
