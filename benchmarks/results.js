'use strict';
// Writing results: benchmarks/results/<label>.json and <label>.svg. A run in
// the QEMU guest cannot write to the host (its root is a read-only share), so
// it prints the JSON between markers on the console and vm.js saves it.
const { mkdirSync, writeFileSync } = require('node:fs');
const path = require('node:path');
const { chart } = require('./chart');

const BEGIN = 'NUMAPLACE_BENCH_RESULTS_BEGIN';
const END = 'NUMAPLACE_BENCH_RESULTS_END';

function saveResults(results) {
  const directory = path.join(__dirname, 'results');
  mkdirSync(directory, { recursive: true });
  const { label, cpus, nodes, kernel } = results.machine;
  writeFileSync(path.join(directory, `${label}.json`), `${JSON.stringify(results, null, 2)}\n`);
  const heading = `numaplace ratios, ${label}: ${cpus} CPUs, ${nodes.length} node(s), Linux ${kernel}`;
  writeFileSync(path.join(directory, `${label}.svg`), chart(results.figures, heading));
  return `benchmarks/results/${label}.json and ${label}.svg`;
}

function printForHost(results) {
  console.log(`${BEGIN}\n${JSON.stringify(results)}\n${END}`);
}

/** The results a guest printed on its console, or undefined. */
function resultsFromConsole(text) {
  const start = text.lastIndexOf(BEGIN);
  const end = text.lastIndexOf(END);
  if (start < 0 || end < start) return undefined;
  return JSON.parse(text.slice(start + BEGIN.length, end).replace(/\r/g, '').trim());
}

module.exports = { printForHost, resultsFromConsole, saveResults };
