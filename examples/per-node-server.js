// An HTTP service with one process per NUMA node, each answering from a cache
// that lives in its own node's memory, next to the CPUs that read it. Two ways
// to start it:
//
//   node examples/per-node-server.js
//       a cluster: one worker per node with CPUs and memory (clusterForkOnNode),
//       all on one port
//   numaplace run --per-node -- node examples/per-node-server.js
//       one independent process per node, each on PORT + its node id
//
// PORT (default 8080) sets the port. GET /item/<n> answers entry n of the
// cache; GET /where says which node, CPU and process answered and where the
// cache's pages are.
'use strict';
const cluster = require('node:cluster');
const http = require('node:http');
const { allocOnNode, clusterForkOnNode, currentCpu, placement, topology } = require('..');

const PORT = Number(process.env.PORT ?? 8080);
const ENTRIES = 4 * 2 ** 20; // 16 MiB of 32-bit values

function serve(node, port) {
  // allocOnNode: the cache's pages are on `node` whichever thread first writes them.
  const cache = allocOnNode(ENTRIES * 4, node);
  const values = new Uint32Array(cache.buffer, cache.byteOffset, ENTRIES);
  for (let i = 0; i < ENTRIES; i++) values[i] = Math.imul(i, 2654435761) >>> 0;
  const server = http.createServer((request, response) => {
    const item = /^\/item\/(\d+)$/.exec(request.url ?? '');
    let body;
    if (item && Number(item[1]) < ENTRIES) {
      body = { item: Number(item[1]), value: values[Number(item[1])], node };
    } else if (request.url === '/where') {
      body = { node, pid: process.pid, cpu: currentCpu(), cachePages: Object.fromEntries(placement(cache).byNode) };
    } else {
      response.writeHead(404).end();
      return;
    }
    response.setHeader('content-type', 'application/json');
    response.end(JSON.stringify(body));
  });
  server.listen(port, () => console.log(`node ${node}: process ${process.pid} serving on port ${port}`));
}

if (cluster.isWorker) {
  serve(Number(process.env.NUMAPLACE_NODE), PORT);
} else if (process.env.NUMAPLACE_NODE !== undefined) {
  // Started by numaplace run --per-node: one process of several, each with a port of its own.
  const node = Number(process.env.NUMAPLACE_NODE);
  serve(node, PORT + node);
} else {
  const nodes = topology().nodes.filter((node) => node.hasCpu && node.hasMemory);
  for (const node of nodes) clusterForkOnNode(node.id);
  cluster.on('exit', (worker, code, signal) => console.log(`worker ${worker.process.pid} exited (${signal ?? code})`));
  // Ctrl-C reaches the workers too. SIGTERM to the primary alone stops them all:
  // each worker closes its server, answers what it has begun and exits. (Killing
  // them as well would race the disconnect messages on their closing channels.)
  process.on('SIGTERM', () => cluster.disconnect(() => process.exit(0)));
}
