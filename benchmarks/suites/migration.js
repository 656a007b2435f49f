'use strict';
// Migration between two nodes: numaplace against raw move_pages, libnuma's
// numa_move_pages and mbind(MPOL_MF_MOVE) on the same pages, against memcpy of
// the same bytes between the nodes, and the parallel engine per thread count.
const { monitorEventLoopDelay } = require('node:perf_hooks');
const { allocOnNode, migrateBuffer, migrateBufferSync, pageNodes } = require('../../dist');
const { interleaved, ratio, summary, timed } = require('../stats');

const MiB = 2 ** 20;

function allOn(view, node) {
  return pageNodes(view).every((status) => status === node);
}

/** One figure per page kind and size; `moves` alternate the buffer between nodes a and b. */
async function compareMethods({ raw, a, b, bytes, hugePages, repetitions, record }) {
  const buffer = allocOnNode(bytes, a, { hugePages }).fill(7);
  const source = allocOnNode(bytes, a, { hugePages }).fill(1);
  const target = allocOnNode(bytes, b, { hugePages }).fill(2);
  let where = a;
  const move = (method) => async () => {
    const to = where === a ? b : a;
    const ns = await method(to);
    if (!allOn(buffer, to)) throw new Error(`a move to node ${to} left pages behind`);
    where = to;
    return ns;
  };
  const samples = await interleaved(repetitions, {
    numaplace: move((to) => timed(() => migrateBufferSync(buffer, to))),
    raw: move((to) => raw.movePages(buffer, to)),
    ...(raw.numaMovePages(buffer, where) >= 0 ? { libnuma: move((to) => raw.numaMovePages(buffer, to)) } : {}),
    mbind: move((to) => raw.mbindMove(buffer, to)),
    memcpy: async () => raw.copy(target, source),
  });
  const kind = hugePages ? 'THP' : '4 KiB pages';
  const label = `${bytes / MiB} MiB, ${kind}`;
  const gibPerSecond = (ns) => bytes / 2 ** 30 / (ns / 1e9);
  for (const [name, values] of Object.entries(samples)) {
    record({ id: `throughput/${name}/${hugePages ? 'thp' : '4k'}/${bytes / MiB}`, title: `${name} ${label}`, unit: 'GiB/s', ...summary(values.map(gibPerSecond)) });
  }
  record({
    id: `ratio/numaplace-vs-raw/${hugePages ? 'thp' : '4k'}/${bytes / MiB}`,
    title: `migrateBufferSync time ÷ raw move_pages, ${label}`,
    unit: '×',
    goal: { op: '<=', value: 1.03 },
    ...ratio(samples.numaplace, samples.raw),
  });
  const fastest = samples.numaplace.map((_, i) => Math.min(samples.mbind[i], samples.libnuma?.[i] ?? Infinity));
  record({
    id: `ratio/numaplace-vs-best-kernel-path/${hugePages ? 'thp' : '4k'}/${bytes / MiB}`,
    title: `migrateBufferSync throughput ÷ faster of libnuma and mbind(MPOL_MF_MOVE), ${label}`,
    unit: '×',
    goal: { op: '>=', value: 0.95 },
    ...ratio(fastest, samples.numaplace),
  });
  record({
    id: `ratio/migrate-vs-memcpy/${hugePages ? 'thp' : '4k'}/${bytes / MiB}`,
    title: `migrateBufferSync throughput ÷ memcpy between the nodes, ${label}`,
    unit: '×',
    ...ratio(samples.memcpy, samples.numaplace),
  });
  return buffer;
}

/** migrateBuffer with 1..n chunks in flight against raw single-threaded move_pages. */
async function parallelSpeedup({ raw, a, b, bytes, repetitions, threads, record }) {
  const buffer = allocOnNode(bytes, a, { hugePages: false }).fill(3);
  let where = a;
  const move = (method) => async () => {
    const to = where === a ? b : a;
    const ns = await method(to);
    where = to;
    return ns;
  };
  const contenders = { raw: move((to) => raw.movePages(buffer, to)) };
  for (let n = 1; n <= threads; n++) contenders[`threads-${n}`] = move((to) => timed(() => migrateBuffer(buffer, to, { concurrency: n })));
  const samples = await interleaved(repetitions, contenders);
  for (let n = 2; n <= threads; n++) {
    record({
      id: `ratio/parallel-speedup/${n}`,
      title: `migrateBuffer speedup with ${n} chunks in flight over 1, ${bytes / MiB} MiB of 4 KiB pages`,
      unit: '×',
      ...ratio(samples['threads-1'], samples[`threads-${n}`]),
    });
  }
  record({
    id: `ratio/parallel-vs-raw/${threads}`,
    title: `raw single-threaded move_pages time ÷ migrateBuffer with ${threads} in flight, ${bytes / MiB} MiB of 4 KiB pages`,
    unit: '×',
    goal: threads > 1 ? { op: '>=', value: 1 } : undefined,
    ...ratio(samples.raw, samples[`threads-${threads}`]),
  });
}

/** Event-loop delay while a large migration runs on the pool, against the same time idle. */
async function eventLoopDelay({ a, b, bytes, record }) {
  const buffer = allocOnNode(bytes, a, { hugePages: false }).fill(4);
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  const ticker = setInterval(() => {}, 1);
  histogram.enable();
  const ns = await timed(() => migrateBuffer(buffer, b));
  histogram.disable();
  const busy = { p99Ms: histogram.percentile(99) / 1e6, maxMs: histogram.max / 1e6 };
  histogram.reset();
  histogram.enable();
  await new Promise((resolve) => setTimeout(resolve, ns / 1e6));
  histogram.disable();
  clearInterval(ticker);
  const idle = { p99Ms: histogram.percentile(99) / 1e6, maxMs: histogram.max / 1e6 };
  record({
    id: `event-loop/${bytes / MiB}`,
    title: `longest event-loop delay during a ${bytes / MiB} MiB migrateBuffer`,
    unit: 'ms',
    value: busy.maxMs,
    details: { migrationMs: ns / 1e6, busy, idle },
  });
}

async function migrationSuite({ raw, nodes, free, quick, threads, record }) {
  if (nodes.length < 2) {
    return `skipped: needs two memory nodes, this machine has ${nodes.length} (npm run bench:vm runs it in the QEMU guest)`;
  }
  const [a, b] = nodes;
  const largest = Math.floor(free / 4 / MiB) * MiB;
  const sizes = (quick ? [64] : [64, 256, 1024]).map((mib) => mib * MiB).filter((bytes) => bytes <= largest);
  const repetitions = quick ? 3 : 5;
  for (const bytes of sizes) {
    for (const hugePages of [false, true]) await compareMethods({ raw, a, b, bytes, hugePages, repetitions, record });
  }
  await parallelSpeedup({ raw, a, b, bytes: sizes.at(-1), repetitions, threads, record });
  await eventLoopDelay({ a, b, bytes: sizes.at(-1), record });
  return undefined;
}

module.exports = { migrationSuite };
