'use strict';
// A large move beside a service's event loop: migrateBuffer unbudgeted (its
// default chunks, in flight on the pool) against the same move with
// `maxCallMs: 2`, alternating on the same pages. The loop meanwhile does what a
// service does with the data being moved: a timer every millisecond reads a
// byte of a random page of the buffer. A page under migration cannot be read
// until its batch (512 pages at most) is copied and mapped again; the
// event-loop delay is how long such waits, the loop's own work for each call
// and the timer's lateness add up to.
const { monitorEventLoopDelay } = require('node:perf_hooks');
const { allocOnNode, migrateBuffer, pageNodes, topology } = require('../../dist');
const { interleaved, ratio, summary } = require('../stats');

const MiB = 2 ** 20;

/** One move of `buffer` to `to` with `options`, the loop reading the buffer meanwhile: the delay's p99 and max, the time, the calls' length (the longest, paced; the mean, unpaced). */
async function moveBesideTheLoop(buffer, to, options, pageSize) {
  const pages = buffer.length / pageSize;
  let sum = 0;
  const reader = setInterval(() => {
    sum += buffer[Math.floor(Math.random() * pages) * pageSize];
  }, 1);
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  histogram.enable();
  const began = process.hrtime.bigint();
  const report = await migrateBuffer(buffer, to, options);
  const ms = Number(process.hrtime.bigint() - began) / 1e6;
  histogram.disable();
  clearInterval(reader);
  if (pageNodes(buffer).some((node) => node !== to)) throw new Error(`a move to node ${to} left pages behind`);
  if (sum < 0) throw new Error('unreachable: keeps the reads');
  // Unbudgeted, the report times the migration, not its calls: its calls' mean length is the elapsed time over them.
  const callMs = report.longestCallMs ?? report.elapsedNs / 1e6 / report.calls;
  return { p99Ms: histogram.percentile(99) / 1e6, maxMs: histogram.max / 1e6, ms, callMs };
}

async function gentleSuite({ nodes, free, quick, record }) {
  if (nodes.length < 2) {
    return `skipped: needs two memory nodes, this machine has ${nodes.length} (npm run bench:vm runs it in the QEMU guest)`;
  }
  const [a, b] = nodes;
  const bytes = Math.min(quick ? 256 : 1024, Math.floor(free / 4 / MiB)) * MiB;
  const buffer = allocOnNode(bytes, a, { hugePages: false }).fill(5);
  const { pageSize } = topology();
  const runs = { unbudgeted: [], budgeted: [] };
  let where = a;
  const contender = (name, options) => async () => {
    const to = where === a ? b : a;
    const run = await moveBesideTheLoop(buffer, to, options, pageSize);
    where = to;
    runs[name].push(run);
    return run.p99Ms;
  };
  const samples = await interleaved(quick ? 2 : 4, {
    unbudgeted: contender('unbudgeted', {}),
    budgeted: contender('budgeted', { maxCallMs: 2 }),
  });
  const label = `${bytes / MiB} MiB of 4 KiB pages`;
  for (const [name, title] of [
    ['unbudgeted', 'migrateBuffer'],
    ['budgeted', 'migrateBuffer { maxCallMs: 2 }'],
  ]) {
    record({ id: `gentle/${name}/p99`, title: `event-loop delay p99 during ${title}, ${label}`, unit: 'ms', ...summary(runs[name].map((run) => run.p99Ms)) });
    record({ id: `gentle/${name}/max`, title: `longest event-loop delay during ${title}, ${label}`, unit: 'ms', ...summary(runs[name].map((run) => run.maxMs)) });
    record({ id: `gentle/${name}/time`, title: `${title}, ${label}`, unit: 'ms', ...summary(runs[name].map((run) => run.ms)) });
  }
  record({ id: 'gentle/unbudgeted/call', title: `mean move_pages call of migrateBuffer, ${label}`, unit: 'ms', ...summary(runs.unbudgeted.map((run) => run.callMs)) });
  record({ id: 'gentle/budgeted/longest-call', title: `longest move_pages call of migrateBuffer { maxCallMs: 2 }, ${label}`, unit: 'ms', ...summary(runs.budgeted.map((run) => run.callMs)) });
  record({
    id: 'ratio/gentle-p99',
    title: `event-loop delay p99: unbudgeted ÷ { maxCallMs: 2 }, ${label}`,
    unit: '×',
    goal: { op: '>=', value: 1 },
    ...ratio(samples.unbudgeted, samples.budgeted),
  });
  record({
    id: 'ratio/gentle-time',
    title: `time of the move: { maxCallMs: 2 } ÷ unbudgeted, ${label}`,
    unit: '×',
    ...ratio(
      runs.budgeted.map((run) => run.ms),
      runs.unbudgeted.map((run) => run.ms),
    ),
  });
  return undefined;
}

module.exports = { gentleSuite };
