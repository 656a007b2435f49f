'use strict';
// Queries and fixed costs: pageNodes against raw move_pages(nodes = NULL) and
// a per-page get_mempolicy loop, numa_maps parsing, the fixed cost of a
// 1-page query, and (between two nodes) what the Promise form adds to a 2 MiB
// migration.
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const { allocOnNode, migrateBuffer, migrateBufferSync, pageNodes, pinThread, processPlacement, threadAffinity } = require('../../dist');
const { interleaved, ratio, summary, timed } = require('../stats');

const MiB = 2 ** 20;
const CALLS = 10000;

async function queryCosts({ raw, a, repetitions, record }) {
  const buffer = allocOnNode(64 * MiB, a, { hugePages: false }).fill(5);
  const pages = pageNodes(buffer).length;
  const samples = await interleaved(repetitions, {
    pageNodes: () => timed(() => pageNodes(buffer)),
    raw: async () => raw.movePages(buffer, -1),
    getMempolicy: async () => raw.getMempolicyLoop(buffer),
    zeroPageScan: async () => raw.zeroPageScan(buffer),
  });
  record({ id: 'per-page/pageNodes', title: 'pageNodes per page, 64 MiB', unit: 'ns', ...summary(samples.pageNodes.map((ns) => ns / pages)) });
  record({ id: 'per-page/raw-query', title: 'raw move_pages(nodes = NULL) per page', unit: 'ns', ...summary(samples.raw.map((ns) => ns / pages)) });
  record({ id: 'ratio/pageNodes-vs-raw', title: 'pageNodes time ÷ raw move_pages(nodes = NULL), 64 MiB', unit: '×', goal: { op: '<=', value: 1.1 }, ...ratio(samples.pageNodes, samples.raw) });
  if (samples.zeroPageScan.every((ns) => ns >= 0)) {
    // Kernels that name a node for the zero page (some 6.18 builds) get one PAGEMAP_SCAN per
    // query on top; on the others numaplace skips it. Either way, the worst case against raw:
    const withScan = samples.pageNodes.map((ns, i) => ns + samples.zeroPageScan[i]);
    record({
      id: 'ratio/pageNodes-with-zero-page-scan-vs-raw',
      title: 'pageNodes plus the PAGEMAP_SCAN for zero pages ÷ raw move_pages(nodes = NULL), 64 MiB',
      unit: '×',
      goal: { op: '<=', value: 1.1 },
      ...ratio(withScan, samples.raw),
    });
  }
  record({
    id: 'ratio/get_mempolicy-loop-vs-pageNodes',
    title: 'per-page get_mempolicy(MPOL_F_NODE | MPOL_F_ADDR) loop time ÷ pageNodes, 64 MiB',
    unit: '×',
    goal: { op: '>=', value: 3 },
    ...ratio(samples.getMempolicy, samples.pageNodes),
  });
  const placements = await interleaved(repetitions, { numaMaps: () => timed(() => processPlacement(0)) });
  const mappings = processPlacement(0).mappings.length;
  record({ id: 'numa_maps/parse', title: `processPlacement(0): read and parse /proc/self/numa_maps (${mappings} mappings)`, unit: 'µs', ...summary(placements.numaMaps.map((ns) => ns / 1e3)) });
}

async function fixedCosts({ raw, a, b, repetitions, record }) {
  const page = allocOnNode(4096, a, { hugePages: false }).fill(6);
  // A fixed cost of about a microsecond: pinned to one CPU, best of many rounds (interference
  // only ever adds time), the two alternating.
  const rounds = repetitions * 10;
  const original = threadAffinity();
  pinThread([original.at(-1)]);
  let samples;
  try {
    // Each contender calls its function from a loop of its own: one loop shared by both made
    // the call site polymorphic, which cost pageNodes up to 60 ns a call here.
    samples = await interleaved(rounds, {
      pageNodes: () =>
        timed(() => {
          for (let i = 0; i < CALLS; i++) pageNodes(page);
        }).then((ns) => ns / CALLS),
      raw: async () => raw.onePageQuery(page, CALLS),
      // The same syscall, but one per call from JavaScript into a minimal addon: what any Node
      // caller pays at least (the loop inside C keeps caches and TLB warmer than calls from JS do).
      rawFromJs: () =>
        timed(() => {
          for (let i = 0; i < CALLS; i++) raw.queryPage(page);
        }).then((ns) => ns / CALLS),
    });
  } finally {
    pinThread(original);
  }
  const best = (values) => Math.min(...values);
  record({ id: 'per-call/pageNodes', title: `pageNodes of one page, per call (best of ${rounds})`, unit: 'ns', value: best(samples.pageNodes) });
  record({ id: 'per-call/raw-query', title: `raw 1-page move_pages(nodes = NULL) from C, per call (best of ${rounds})`, unit: 'ns', value: best(samples.raw) });
  record({
    id: 'ratio/one-page-query-vs-raw',
    title: 'fixed cost of a sync 1-page pageNodes ÷ the same syscall from C (best of each)',
    unit: '×',
    goal: { op: '<=', value: 1.5 },
    value: best(samples.pageNodes) / best(samples.raw),
  });
  record({ id: 'per-call/raw-query-from-js', title: `raw 1-page move_pages from a minimal addon, one per call from JavaScript (best of ${rounds})`, unit: 'ns', value: best(samples.rawFromJs) });
  record({
    id: 'ratio/one-page-query-vs-raw-from-js',
    title: 'sync 1-page pageNodes ÷ the same syscall from a minimal addon, one per JavaScript call (best of each)',
    unit: '×',
    value: best(samples.pageNodes) / best(samples.rawFromJs),
  });

  // A 2 MiB batch moved between two nodes, with the same move by raw move_pages from C as bare
  // Node-API async work beside it: the floor every Promise form pays for the pool round trip.
  // On one node the overhead suite measures it against a projected real move instead.
  if (a === b) return;
  const batch = allocOnNode(2 * MiB, a, { hugePages: false }).fill(8);
  let where = a;
  const move = (method) => async () => {
    const to = where === a ? b : a;
    const ns = await timed(() => method(to));
    where = to;
    return ns;
  };
  const batches = await interleaved(repetitions * 10, {
    async: move((to) => migrateBuffer(batch, to)),
    sync: move((to) => migrateBufferSync(batch, to)),
    rawAsync: move((to) => raw.movePagesAsync(batch, to)),
    rawSync: move((to) => raw.movePages(batch, to)),
  });
  const added = (async, sync) => summary(async.map((ns, i) => (ns - sync[i]) / sync[i]));
  record({
    id: 'ratio/async-overhead-2MiB',
    title: 'what the Promise form adds to a 2 MiB migration, fraction of its time',
    unit: '',
    goal: { op: '<=', value: 0.05 },
    ...added(batches.async, batches.sync),
  });
  record({
    id: 'ratio/raw-async-overhead-2MiB',
    title: 'what the libuv pool adds to the same raw move_pages (bare Node-API async work), fraction of its time',
    unit: '',
    ...added(batches.rawAsync, batches.rawSync),
  });
}

/**
 * User-space instructions per 1-page query, where wall time is too noisy:
 * callgrind runs a child doing N and 2N queries, and the difference over N
 * removes Node's start-up. Kernel work is not counted, so this is what
 * numaplace adds around the syscall. The child runs V8 without background
 * threads: their compiles and collections, counted too, differ from run to run
 * by more than N queries cost (differences of 50,000 calls came out between
 * -2 and 4,600 instructions per call).
 */
function instructionsPerCall(kind, calls) {
  const count = (n) => {
    const script = path.join(__dirname, '..', 'one-page-queries.js');
    const run = spawnSync('valgrind', ['--tool=callgrind', '--callgrind-out-file=/dev/null', process.execPath, '--single-threaded', script, kind, String(n)], {
      encoding: 'utf8',
    });
    const match = /Collected : (\d+)/.exec(run.stderr ?? '');
    if (!match) throw new Error(`callgrind gave no count: ${run.error?.message ?? run.stderr}`);
    return Number(match[1]);
  };
  // Start-up, JIT tiers and collections vary from run to run: three differences, summarised.
  return summary([0, 1, 2].map(() => (count(2 * calls) - count(calls)) / calls));
}

function callgrindCosts({ record }) {
  if (spawnSync('valgrind', ['--version']).status !== 0) return 'callgrind counts skipped: valgrind is not installed';
  const calls = 100000;
  const pageNodes = instructionsPerCall('pageNodes', calls);
  // The C loop costs a few dozen instructions a call: ten times the calls keep Node's start-up noise below that.
  const raw = instructionsPerCall('raw', calls * 10);
  record({
    id: 'instructions/one-page-query',
    title: `user-space instructions per 1-page pageNodes (callgrind; the raw syscall loop: ${raw.median.toFixed(0)})`,
    unit: 'instructions',
    ...pageNodes,
  });
  return undefined;
}

async function querySuite({ raw, nodes, quick, record }) {
  const [a, b = a] = nodes;
  const repetitions = quick ? 3 : 7;
  await queryCosts({ raw, a, repetitions, record });
  await fixedCosts({ raw, a, b, repetitions, record });
  if (quick) return 'callgrind counts skipped (--quick)';
  if (process.env.NUMAPLACE_VM_TOPOLOGY) return 'callgrind counts skipped in the emulated guest (they are taken on the host)';
  return callgrindCosts({ record });
}

module.exports = { querySuite };
