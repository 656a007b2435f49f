#!/usr/bin/env node
'use strict';
// npm run bench: every figure side by side on the same pages, written to
// benchmarks/results/<label>.json and .svg and printed as a table.
//   --quick            fewer sizes and repetitions
//   --label <name>     results file name (default: host, or vm-<topology> in the QEMU guest)
//   --only <suites>    comma-separated: overhead,migration,held,balancing,query,latency,service,gentle
//   --build-only       build the raw C baselines and stop (vm.js does, before a guest run)
// In the QEMU guest the results go to the console for vm.js to save.
const { spawnSync } = require('node:child_process');
const { existsSync, readFileSync, statSync } = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { parseArgs } = require('node:util');
const { capabilities, topology } = require('../dist');
const { meets } = require('./chart');
const { printForHost, saveResults } = require('./results');
const { latencySuite } = require('./suites/latency');
const { balancingSuite } = require('./suites/balancing');
const { heldSuite } = require('./suites/held');
const { migrationSuite } = require('./suites/migration');
const { overheadSuite } = require('./suites/overhead');
const { querySuite } = require('./suites/query');
const { serviceSuite } = require('./suites/service');
const { gentleSuite } = require('./suites/gentle');

const RAW = path.join(__dirname, 'raw');
const RAW_ADDON = path.join(RAW, 'build', 'Release', 'raw.node');
const HELD_ADDON = path.join(RAW, 'build', 'Release', 'held_page.node');

/** Builds the baselines when missing or older than their sources. */
function buildRaw() {
  const root = path.join(__dirname, '..');
  const sources = [path.join(RAW, 'raw.c'), path.join(RAW, 'binding.gyp'), path.join(root, 'native', 'numa', 'kernel.h'), path.join(root, 'test', 'native', 'held-page.c')];
  const built = (addon) => existsSync(addon) && sources.every((source) => statSync(source).mtimeMs <= statSync(addon).mtimeMs);
  if (built(RAW_ADDON) && built(HELD_ADDON)) return;
  // Through npm, so that node-gyp gets npm's configuration (nodedir, proxy) as `npm install` does.
  const build = spawnSync('npm', ['exec', '--', 'node-gyp', 'rebuild'], { cwd: RAW, stdio: 'inherit' });
  if (build.status !== 0) throw new Error('building the raw C baselines failed');
}

function readText(file) {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function machine(label) {
  const { nodes } = topology();
  return {
    label,
    date: new Date().toISOString(),
    cpu: os.cpus()[0]?.model,
    cpus: os.availableParallelism(),
    kernel: os.release(),
    node: process.version,
    vm: process.env.NUMAPLACE_VM_TOPOLOGY ?? null,
    numaBalancing: readText('/proc/sys/kernel/numa_balancing'),
    transparentHugePages: readText('/sys/kernel/mm/transparent_hugepage/enabled'),
    nodes: nodes.map((node) => ({ id: node.id, cpus: node.cpus.length, memTotal: node.memTotal, hasMemory: node.hasMemory })),
  };
}

function describe(figure) {
  if (figure.matrix) {
    const rows = Object.entries(figure.matrix).map(
      ([cpu, row]) => `  CPU node ${cpu}: ${Object.entries(row).map(([memory, cell]) => `node ${memory} ${cell.median.toFixed(1)}`).join(', ')}`,
    );
    return [`${figure.title}`, ...rows].join('\n');
  }
  const value = figure.value ?? figure.median;
  const digits = Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 1 ? 2 : 3;
  const range = figure.median === undefined ? '' : ` (${figure.min.toFixed(digits)}–${figure.max.toFixed(digits)})`;
  const goal = figure.goal ? `  goal ${figure.goal.op} ${figure.goal.value}: ${meets(figure.goal, value) ? 'met' : 'NOT met'}` : '';
  return `${figure.title}: ${value.toFixed(digits)} ${figure.unit}${range}${goal}`;
}

async function main() {
  const { values } = parseArgs({
    options: { quick: { type: 'boolean' }, label: { type: 'string' }, only: { type: 'string' }, 'build-only': { type: 'boolean' } },
  });
  buildRaw();
  if (values['build-only']) return;
  if (!capabilities().supported) throw new Error(`numaplace cannot run here: ${capabilities().reason}`);
  const raw = require(RAW_ADDON);
  const held = require(HELD_ADDON);
  const label = values.label ?? (process.env.NUMAPLACE_VM_TOPOLOGY ? `vm-${process.env.NUMAPLACE_VM_TOPOLOGY}` : 'host');
  const only = new Set((values.only ?? 'overhead,migration,held,balancing,query,latency,service,gentle').split(','));
  const { nodes } = topology();
  const memoryNodes = nodes.filter((node) => node.hasMemory);
  const context = {
    raw,
    held,
    quick: values.quick === true,
    nodes: memoryNodes.map((node) => node.id),
    free: Math.min(...memoryNodes.slice(0, 2).map((node) => node.memFree)),
    threads: Math.min(os.availableParallelism(), (Number(process.env.UV_THREADPOOL_SIZE) || 4) - 1) || 1,
    record: (figure) => {
      figures.push(figure);
      console.log(describe(figure));
    },
  };
  const figures = [];
  const notes = {};
  const suites = { overhead: overheadSuite, migration: migrationSuite, held: heldSuite, balancing: balancingSuite, query: querySuite, latency: latencySuite, service: serviceSuite, gentle: gentleSuite };
  for (const [name, suite] of Object.entries(suites)) {
    if (!only.has(name)) continue;
    const note = await suite(context);
    if (note) {
      notes[name] = note;
      console.log(`${name}: ${note}`);
    }
  }
  const command = `node benchmarks/run.js ${process.argv.slice(2).join(' ')}`.trim();
  const results = { machine: machine(label), command, notes, figures };
  if (process.env.NUMAPLACE_VM_TOPOLOGY) printForHost(results);
  else console.log(`\nwrote ${saveResults(results)}`);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
