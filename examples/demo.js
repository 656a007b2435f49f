// Moves a 64 MiB buffer to the node of the CPU this runs on and shows where its pages are.
'use strict';
const { createHash } = require('node:crypto');
const { currentCpu, migrateBuffer, placement, placementMap, topology } = require('..');

function describe(label, view) {
  const where = placement(view);
  const nodes = [...where.byNode].map(([node, pages]) => `node ${node}: ${pages} pages`).join(', ');
  console.log(`${label}: ${where.pages} pages — ${nodes || 'none on a node'}; not present: ${where.notPresent}`);
  console.log(placementMap(view, { maxCells: 128 }));
}

async function main() {
  const { nodes, pageSize } = topology();
  console.log(`topology: ${nodes.length} node(s) [${nodes.map((n) => n.id).join(', ')}], page size ${pageSize} bytes`);
  const buffer = Buffer.allocUnsafeSlow(64 * 1024 * 1024);
  for (let i = 0; i < buffer.length; i += 4096) buffer.writeUInt32LE(i, i);
  const checksum = () => createHash('sha256').update(buffer).digest('hex').slice(0, 16);
  const before = checksum();
  describe('before', buffer);

  const { cpu, node } = currentCpu();
  console.log(`running on cpu ${cpu}, node ${node}: moving the buffer there`);
  const report = await migrateBuffer(buffer, node, { countMoved: true });
  const failed = [...report.failed].map(([code, pages]) => `${pages} ${code}`).join(', ') || 'none';
  console.log(
    `${report.moved} pages moved to node ${node}, ${report.alreadyOnNode} already there, ` +
      `${report.notPresent} not present, failed: ${failed}; ${(report.elapsedNs / 1e6).toFixed(1)} ms`,
  );
  describe('after', buffer);
  console.log(`checksum before ${before}, after ${checksum()}`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
