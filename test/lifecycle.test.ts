// Async work still on the libuv pool when its JavaScript environment goes
// away: a worker thread terminated, or the process exiting. Each case runs in
// a child process, so a crash fails the test instead of taking tap with it.
import { spawnSync } from 'node:child_process';
import t from 'tap';
import { childEnv } from './helpers';

const entry = JSON.stringify(require.resolve('../dist/index.js'));

// 64 MiB prefaulted and moved in chunks of 512 pages: tens of milliseconds of
// pool work, so the environment ends while chunks are still queued or running.
const startMigration = `
  const numaplace = require(${entry});
  const memory = numaplace.allocLocal(64 * 2 ** 20);
  const migration = numaplace.migrateBuffer(memory, numaplace.nearestMemoryNode(numaplace.currentCpu().node), { prefault: true, chunkPages: 512 });
`;

function runChild(script: string) {
  return spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env: childEnv(), timeout: 120_000 });
}

t.test('terminating a worker thread while its migrateBuffer is in flight', async (t) => {
  const child = runChild(`
    const { Worker } = require('node:worker_threads');
    const numaplace = require(${entry});
    const worker = new Worker(${JSON.stringify(`${startMigration}
      const { parentPort } = require('node:worker_threads');
      migration.then(() => parentPort.postMessage('finished'));
      parentPort.postMessage('started');`)}, { eval: true });
    const seen = [];
    worker.on('message', async (message) => {
      seen.push(message);
      if (message !== 'started') return;
      const code = await worker.terminate();
      // The main thread's addon still works after the worker's environment is gone.
      const buffer = Buffer.alloc(4 * numaplace.topology().pageSize, 1);
      const { onNode } = await numaplace.migrateBuffer(buffer, numaplace.nearestMemoryNode(numaplace.currentCpu().node));
      console.log(JSON.stringify({ seen, code, handled: onNode }));
    });
  `);
  t.equal(child.signal, null, 'no crash');
  t.equal(child.status, 0, child.stderr);
  const outcome = JSON.parse(child.stdout);
  t.same(outcome.seen, ['started'], 'the worker was terminated before its migration finished');
  t.equal(outcome.code, 1, 'terminate() reports the forced exit');
  t.ok(outcome.handled >= 4, `the main thread migrated afterwards (${outcome.handled} pages handled)`);
});

t.test('exiting the process while migrateBuffer work is pending', async (t) => {
  const child = runChild(`${startMigration}
    migration.then(() => console.log('finished'));
    setImmediate(() => { console.log('exiting'); process.exit(0); });
  `);
  t.equal(child.signal, null, 'no crash');
  t.equal(child.status, 0, child.stderr);
  t.equal(child.stdout, 'exiting\n', 'the process exited before the migration finished');
});

t.test('each thread queries into arrays of its own, which end with it', async (t) => {
  // A span of up to 64 pages is written into arrays the addon keeps per JS environment.
  const child = runChild(`
    const { Worker } = require('node:worker_threads');
    const numaplace = require(${entry});
    const query = (pages) => {
      const node = numaplace.nearestMemoryNode(numaplace.currentCpu().node);
      const memory = numaplace.allocOnNode(pages * numaplace.topology().pageSize, node, { hugePages: false }).fill(1);
      return { node, status: Array.from(numaplace.pageNodes(memory)) };
    };
    const before = query(3);
    const worker = new Worker(${JSON.stringify(`
      const { parentPort } = require('node:worker_threads');
      const numaplace = require(${entry});
      const node = numaplace.nearestMemoryNode(numaplace.currentCpu().node);
      const memory = numaplace.allocOnNode(5 * numaplace.topology().pageSize, node, { hugePages: false }).fill(1);
      parentPort.postMessage({ node, status: Array.from(numaplace.pageNodes(memory)) });`)}, { eval: true });
    worker.on('message', async (inWorker) => {
      const during = query(2);
      await worker.terminate();
      console.log(JSON.stringify({ before, inWorker, during, after: query(4) }));
    });
  `);
  t.equal(child.signal, null, 'no crash');
  t.equal(child.status, 0, child.stderr);
  const { before, inWorker, during, after } = JSON.parse(child.stdout);
  t.same(inWorker.status, Array(5).fill(inWorker.node), "the worker's 5 pages, read back on its node");
  for (const [name, outcome, pages] of [['before', before, 3], ['during', during, 2], ['after', after, 4]] as const) {
    t.same(outcome.status, Array(pages).fill(outcome.node), `the main thread's ${pages} pages ${name} the worker`);
  }
});
