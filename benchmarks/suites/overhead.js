'use strict';
// numaplace's own cost per page in a migration, at native speed on any
// machine: a move to the node the pages are already on makes the kernel walk
// and check every page but copy none, so numaplace's time minus that of one
// raw move_pages over the same pages is the work numaplace adds (for huge
// pages, the raw call given one address per huge page, as numaplace gives). Best of N
// for each, alternating, on the same pages; then projected onto what a real
// move costs per page, where the added work is a fraction of the copy.
const { allocOnNode, migrateBuffer, migrateBufferSync, pinThread, threadAffinity } = require('../../dist');
const { interleaved, summary, timed } = require('../stats');

const MiB = 2 ** 20;
// Real move costs per 4 KiB of memory on a stock kernel (issue 14's host
// measurements): a 4 KiB page ~1.2 µs; a 2 MiB huge page ~190 µs, moved whole.
const REAL_NS_PER_PAGE = { '4k': 1200, thp: 190000 / 512 };

function scaled({ median, min, max, samples }, factor) {
  return { median: median * factor, min: min * factor, max: max * factor, samples };
}

async function overheadSuite({ raw, nodes, quick, record }) {
  if (process.env.NUMAPLACE_VM_TOPOLOGY) return 'skipped in the emulated guest: measured at native speed on the host';
  const node = nodes[0];
  const bytes = 64 * MiB;
  const repetitions = quick ? 20 : 60;
  const original = threadAffinity();
  pinThread([original.at(-1)]); // one CPU: no migration of the thread between contenders
  try {
    for (const kind of ['4k', 'thp']) {
      const buffer = allocOnNode(bytes, node, { hugePages: kind === 'thp' }).fill(5);
      const pages = bytes / 4096;
      const thp = kind === 'thp';
      // Huge pages: the careful raw caller gives one address per huge page (the kernel moves the
      // whole huge page for any of them), as numaplace does; the usual one gives every page.
      const samples = await interleaved(repetitions, {
        numaplace: () => timed(() => migrateBufferSync(buffer, node)),
        raw: async () => raw.movePages(buffer, node),
        ...(thp ? { rawByHugePage: async () => raw.movePagesByHugePage(buffer, node) } : {}),
      });
      const best = (values) => Math.min(...values);
      const baseline = best(thp ? samples.rawByHugePage : samples.raw);
      const overheadNs = (best(samples.numaplace) - baseline) / pages;
      const label = thp ? 'THP' : '4 KiB pages';
      const careful = thp ? 'raw move_pages given one address per huge page' : 'raw move_pages';
      record({ id: `overhead/numaplace/${kind}`, title: `migrateBufferSync same-node move per page, 64 MiB, ${label} (best of ${repetitions})`, unit: 'ns', value: best(samples.numaplace) / pages });
      record({ id: `overhead/raw/${kind}`, title: `raw move_pages given every page, same-node move per page, 64 MiB, ${label} (best of ${repetitions})`, unit: 'ns', value: best(samples.raw) / pages });
      if (thp) record({ id: 'overhead/raw-by-huge-page/thp', title: `${careful}, same-node move per page, 64 MiB, THP (best of ${repetitions})`, unit: 'ns', value: baseline / pages });
      record({ id: `overhead/added/${kind}`, title: `numaplace's own work per page over ${careful}, ${label}`, unit: 'ns', value: overheadNs });
      record({
        id: `overhead/projected/${kind}`,
        title: `projected migrateBufferSync time ÷ ${careful} on a real move (${REAL_NS_PER_PAGE[kind].toFixed(0)} ns per 4 KiB), ${label}`,
        unit: '×',
        goal: { op: '<=', value: 1.03 },
        value: (REAL_NS_PER_PAGE[kind] + overheadNs) / REAL_NS_PER_PAGE[kind],
      });
    }
    // The Promise form's fixed cost against what moving 2 MiB really takes, next to its floor: the
    // same raw move_pages from C as bare Node-API async work on the pool, minus the call made in
    // place. Every Promise form pays that round trip (a pool thread woken, then the event loop).
    const batch = allocOnNode(2 * MiB, node, { hugePages: false }).fill(8);
    const forms = await interleaved(repetitions * 10, {
      async: () => timed(() => migrateBuffer(batch, node)),
      sync: () => timed(() => migrateBufferSync(batch, node)),
      rawAsync: () => timed(() => raw.movePagesAsync(batch, node)),
      rawSync: () => timed(() => raw.movePages(batch, node)),
    });
    const added = (async, sync) => summary(async.map((ns, i) => ns - sync[i]));
    const fixed = added(forms.async, forms.sync);
    const floor = added(forms.rawAsync, forms.rawSync);
    record({ id: 'overhead/promise-fixed', title: 'what the Promise form adds to a 2 MiB same-node move', unit: 'µs', ...scaled(fixed, 1e-3) });
    record({ id: 'overhead/pool-round-trip', title: 'what the libuv pool adds to the same raw move_pages (bare Node-API async work)', unit: 'µs', ...scaled(floor, 1e-3) });
    const realBatchNs = 512 * REAL_NS_PER_PAGE['4k'];
    record({
      id: 'overhead/promise-projected',
      title: `projected: the Promise form's fixed cost ÷ a real 2 MiB migration (${(realBatchNs / 1e3).toFixed(0)} µs)`,
      unit: '',
      goal: { op: '<=', value: 0.05 },
      ...scaled(fixed, 1 / realBatchNs),
    });
    record({ id: 'overhead/pool-round-trip-projected', title: 'projected: the bare pool round trip ÷ a real 2 MiB migration', unit: '', ...scaled(floor, 1 / realBatchNs) });
  } finally {
    pinThread(original);
  }
  return undefined;
}

module.exports = { overheadSuite };
