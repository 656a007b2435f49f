'use strict';
// Runs compiled test files in this one process, in the order given, under one
// tap root. In a guest under emulation, loading tap costs ~16 s per process and
// loading TypeScript far more, so every file of a pass shares one process.
// TAP_TIMEOUT=0 (set by test/vm/passes): no timeout for the whole process.
const path = require('node:path');

for (const file of process.argv.slice(2)) require(path.resolve(file));
