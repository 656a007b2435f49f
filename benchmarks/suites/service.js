'use strict';
// Polling from a service: numaStat({ pid }) of a process with 10,000 mappings
// against the least any reader of the same figures pays, reading its numa_maps
// whole and splitting it into lines. Most of either is the kernel writing
// numa_maps (a page-table walk and a line per mapping); the ratio is what
// numaStat adds: parsing, and the node, vmstat and sched files besides.
const { spawn } = require('node:child_process');
const { once } = require('node:events');
const { readFileSync } = require('node:fs');
const path = require('node:path');
const { numaStat, processPlacement } = require('../../dist');
const { interleaved, ratio, summary, timed } = require('../stats');

const FIXTURE = path.join(__dirname, '..', '..', 'test', 'fixtures', 'many-mappings.js');
const MAPPINGS = 10000;

/** The fixture process: one mapping per page, bound to the nodes in turn, written; stopped, so that nothing in it changes between contenders. */
async function manyMappings(nodes) {
  const child = spawn(process.execPath, [FIXTURE, String(MAPPINGS), nodes.slice(0, 2).join(',')], { stdio: ['ignore', 'pipe', 'inherit'] });
  await once(child.stdout, 'data');
  child.kill('SIGSTOP');
  return child;
}

async function serviceSuite({ nodes, quick, record }) {
  const child = await manyMappings(nodes);
  try {
    const file = `/proc/${child.pid}/numa_maps`;
    const mappings = readFileSync(file, 'utf8').split('\n').length - 1;
    const samples = await interleaved(quick ? 5 : 40, {
      numaStat: () => timed(() => numaStat({ pid: child.pid })),
      raw: () => timed(() => readFileSync(file, 'utf8').split('\n')),
      processPlacement: () => timed(() => processPlacement(child.pid)),
    });
    const perMapping = (values) => summary(values.map((ns) => ns / mappings));
    // Interference on this shared machine only ever adds time: the best of the rounds is what a quiet one gives.
    const best = (values) => Math.min(...values) / 1e6;
    record({ id: 'service/numaStat', title: `numaStat({ pid }) of a process with ${mappings} mappings`, unit: 'ms', goal: { op: '<=', value: 20 }, ...summary(samples.numaStat.map((ns) => ns / 1e6)) });
    record({ id: 'service/raw', title: `readFileSync(numa_maps) + split('\\n'), ${mappings} mappings`, unit: 'ms', ...summary(samples.raw.map((ns) => ns / 1e6)) });
    record({ id: 'service/numaStat-best', title: `numaStat({ pid }), ${mappings} mappings (best of ${samples.numaStat.length})`, unit: 'ms', value: best(samples.numaStat) });
    record({ id: 'service/raw-best', title: `readFileSync(numa_maps) + split('\\n'), ${mappings} mappings (best of ${samples.raw.length})`, unit: 'ms', value: best(samples.raw) });
    record({ id: 'service/numaStat-per-mapping', title: 'numaStat({ pid }) per mapping', unit: 'ns', ...perMapping(samples.numaStat) });
    record({ id: 'service/raw-per-mapping', title: "readFileSync(numa_maps) + split('\\n') per mapping", unit: 'ns', ...perMapping(samples.raw) });
    record({ id: 'ratio/numaStat-vs-raw', title: "numaStat({ pid }) time ÷ readFileSync(numa_maps) + split('\\n')", unit: '×', goal: { op: '<=', value: 1.25 }, ...ratio(samples.numaStat, samples.raw) });
    record({ id: 'service/processPlacement', title: `processPlacement (an object per mapping), ${mappings} mappings`, unit: 'ms', ...summary(samples.processPlacement.map((ns) => ns / 1e6)) });
  } finally {
    child.kill('SIGKILL');
  }
  return undefined;
}

module.exports = { serviceSuite };
