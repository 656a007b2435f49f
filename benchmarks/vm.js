#!/usr/bin/env node
'use strict';
// npm run bench:vm: the benchmarks in the 2-node QEMU guest (balancing off),
// where migrations between nodes really happen. Under software emulation only
// ratios mean anything. `--kernel 6.1|6.12` picks the guest's kernel (6.1 by
// default; 6.12 has PAGEMAP_SCAN, so huge pages move by one address each);
// other arguments go to run.js (e.g. --quick).
const { spawn, spawnSync } = require('node:child_process');
const path = require('node:path');
const { resultsFromConsole, saveResults } = require('./results');

const root = path.join(__dirname, '..');
const build = spawnSync(process.execPath, [path.join(__dirname, 'run.js'), '--build-only'], { stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);
const given = process.argv.slice(2);
const kernelAt = given.indexOf('--kernel');
const kernel = kernelAt >= 0 ? given.splice(kernelAt, 2).slice(1) : [];
const args = ['--topology', '2node', '--balancing', 'off', ...(kernel.length ? ['--kernel', kernel[0]] : []), '--timeout', '3600', '--', 'node', 'benchmarks/run.js', ...given];
const guest = spawn(path.join(root, 'test/vm/run'), args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
let output = '';
guest.stdout.on('data', (chunk) => {
  output += chunk;
  process.stdout.write(chunk);
});
guest.on('close', (status) => {
  const results = resultsFromConsole(output);
  if (!results) {
    console.error(`bench:vm: the guest printed no results (exit ${status})`);
    process.exit(status || 1);
  }
  console.log(`\nwrote ${saveResults(results)}`);
});
