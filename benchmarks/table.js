#!/usr/bin/env node
'use strict';
// node benchmarks/table.js results/<label>.json: the figures of a run as a
// Markdown table, for benchmarks/README.md.
const { readFileSync } = require('node:fs');
const { meets } = require('./chart');

const results = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const cell = (text) => text.replace(/\|/g, '\\|'); // a | inside a cell would end it
const format = (value) => (Math.abs(value) >= 100 ? value.toFixed(0) : Math.abs(value) >= 1 ? value.toFixed(2) : value.toFixed(3));
console.log('| figure | median (min–max) | goal |');
console.log('|---|---|---|');
for (const figure of results.figures) {
  if (figure.matrix) {
    const cells = Object.entries(figure.matrix).flatMap(([cpu, row]) => Object.entries(row).map(([memory, entry]) => `${cpu}→${memory}: ${format(entry.median)}`));
    console.log(`| ${cell(figure.title)} | ${cells.join(', ')} ${figure.unit} | |`);
    continue;
  }
  const value = figure.value ?? figure.median;
  const range = figure.median === undefined ? '' : ` (${format(figure.min)}–${format(figure.max)})`;
  const goal = figure.goal ? `${figure.goal.op === '<=' ? '≤' : '≥'} ${figure.goal.value}: ${meets(figure.goal, value) ? 'met' : '**not met**'}` : '';
  console.log(`| ${cell(figure.title)} | ${format(value)} ${figure.unit}${range} | ${goal} |`);
}
