'use strict';
// Child of the callgrind measurement: `node one-page-queries.js pageNodes|raw <calls>`
// queries one page that many times, through numaplace or the raw C baseline.
const { allocOnNode, pageNodes } = require('../dist');
const raw = require('./raw/build/Release/raw.node');

const [kind, calls] = [process.argv[2], Number(process.argv[3])];
const page = allocOnNode(4096, 0, { hugePages: false }).fill(1);
if (kind === 'pageNodes') {
  for (let i = 0; i < calls; i++) pageNodes(page);
} else {
  raw.onePageQuery(page, calls);
}
