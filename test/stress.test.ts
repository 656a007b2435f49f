// Concurrency and data integrity: worker threads write sequence-numbered,
// checksummed records into a SharedArrayBuffer while a worker and the main
// thread migrate overlapping ranges of it between nodes, with policies set,
// buffers dropped and buffers transferred mid-migration. At the end every
// record is intact and every page is on a node. STRESS_SECONDS (default 10)
// bounds the run, STRESS_ITERATIONS (default 100000) the main thread's migrations.
import { once } from 'node:events';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Worker } from 'node:worker_threads';
import t from 'tap';
import { bindBuffer, type BindOptions, migrateBuffer, MigrationAbortedError, NumaError, pageNodes, allocOnNode, topology } from '../lib/index';
import { multiNodeOrSkip } from './helpers';

const DIST = JSON.stringify(require.resolve('../dist/index.js'));
const RECORD_INTS = 4; // writer, index, sequence, check
const RECORDS = 2 ** 16; // 1 MiB of records
const WRITERS = 2;
// 5 s under emulation: the run goes on anyway until both migrators have worked.
const seconds = Number(process.env.STRESS_SECONDS ?? (process.env.NUMAPLACE_VM_TOPOLOGY ? 5 : 10));
const iterations = Number(process.env.STRESS_ITERATIONS ?? 100000);
const MIN_MIGRATIONS = 3;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

// Writer w rewrites each of its records (index % WRITERS === w) once per pass,
// and looks at the stop flag only between passes: at the end each of its
// records holds the number of passes it reports.
const writerCode = `
  const { workerData, parentPort } = require('node:worker_threads');
  const { records, control, writer } = workerData;
  const ints = new Int32Array(records);
  const check = (w, i, s) => Math.imul(w + 1, 0x9e3779b1) ^ Math.imul(i + 1, 0x85ebca6b) ^ Math.imul(s + 1, 0xc2b2ae35);
  let passes = 0;
  // A millisecond's pause between passes leaves CPU time to the threads that migrate.
  while (Atomics.wait(control, 0, 0, 1) === 'timed-out') {
    passes++;
    for (let index = writer; index < ${RECORDS}; index += ${WRITERS}) {
      const at = index * ${RECORD_INTS};
      ints[at] = writer; ints[at + 1] = index; ints[at + 2] = passes; ints[at + 3] = check(writer, index, passes);
    }
  }
  parentPort.postMessage(passes);`;

// Migrates random ranges of the records to random nodes, synchronously, until stopped.
const migratorCode = `
  const { workerData, parentPort } = require('node:worker_threads');
  const numaplace = require(${DIST});
  const { records, control, nodes } = workerData;
  let migrations = 0;
  while (Atomics.load(control, 0) === 0) {
    const start = Math.floor(Math.random() * records.byteLength);
    const length = Math.floor(Math.random() * (records.byteLength - start));
    numaplace.migrateBufferSync(new Uint8Array(records, start, length), nodes[migrations % nodes.length], { chunkPages: 512 });
    migrations++;
    Atomics.store(control, 1, migrations);
  }
  parentPort.postMessage(migrations);`;

// Receives transferred buffers and sends back the sum of their bytes.
const receiverCode = `
  const { parentPort } = require('node:worker_threads');
  parentPort.on('message', (buffer) => parentPort.postMessage(new Uint8Array(buffer).reduce((a, b) => a + b, 0)));`;

const check = (w: number, i: number, s: number) => Math.imul(w + 1, 0x9e3779b1) ^ Math.imul(i + 1, 0x85ebca6b) ^ Math.imul(s + 1, 0xc2b2ae35);
const pick = <T>(items: T[]) => items[Math.floor(Math.random() * items.length)];

t.test(`records stay intact while ranges of them move between nodes (${seconds} s)`, async (t) => {
  const nodes = multiNodeOrSkip(t);
  if (!nodes) return;
  const records = new SharedArrayBuffer(RECORDS * RECORD_INTS * 4);
  // [0]: stop flag; [1]: migrations the worker has done so far.
  const control = new Int32Array(new SharedArrayBuffer(8));
  const writers = Array.from({ length: WRITERS }, (_, writer) => new Worker(writerCode, { eval: true, workerData: { records, control, writer } }));
  const migrator = new Worker(migratorCode, { eval: true, workerData: { records, control, nodes } });
  const receiver = new Worker(receiverCode, { eval: true });
  // On a failure before the end: stop the workers, or they would keep the test alive.
  t.teardown(async () => {
    Atomics.store(control, 0, 1);
    await Promise.all([...writers, migrator, receiver].map((worker) => worker.terminate()));
  });
  const bytes = new Uint8Array(records);
  const counts = { migrations: 0, binds: 0, dropped: 0, transferred: 0, transferErrors: 0 };
  // The run lasts `seconds`, and longer until both kinds of migration have happened a few
  // times: under emulation, starting the workers alone can take most of 10 s.
  const enough = () => counts.migrations >= MIN_MIGRATIONS && Atomics.load(control, 1) >= MIN_MIGRATIONS;
  const deadline = Date.now() + seconds * 1000;
  const giveUp = Date.now() + 30 * seconds * 1000;
  while ((Date.now() < deadline || !enough()) && Date.now() < giveUp && counts.migrations < iterations) {
    const start = Math.floor(Math.random() * bytes.length);
    const view = bytes.subarray(start, start + Math.floor(Math.random() * (bytes.length - start)));
    const moving = migrateBuffer(view, pick(nodes), { chunkPages: pick([512, 1024, 4096]), concurrency: pick([1, 2]) });
    if (counts.migrations % 5 === 0) {
      const policy = pick<BindOptions>([{ mode: 'preferred', nodes: [pick(nodes)] }, { mode: 'default' }, { mode: 'local' }]);
      bindBuffer(bytes.subarray(start, start + 8192), { ...policy, expandToPages: true });
      counts.binds++;
    }
    if (counts.migrations % 7 === 0) {
      // Dropped while its migration runs: the pending work keeps it alive.
      void migrateBuffer(allocOnNode(2 ** 20, pick(nodes)).fill(3), pick(nodes));
      gc();
      counts.dropped++;
    }
    if (counts.migrations % 11 === 0) {
      // Transferred (detached here) while its migration runs.
      const buffer = new ArrayBuffer(2 ** 20);
      new Uint8Array(buffer).fill(1);
      const inFlight = migrateBuffer(buffer, pick(nodes)).then(
        () => 'moved',
        (error: unknown) => (error instanceof TypeError || error instanceof NumaError || error instanceof MigrationAbortedError ? 'refused' : Promise.reject(error)),
      );
      receiver.postMessage(buffer, [buffer]);
      const [sum] = (await once(receiver, 'message')) as [number];
      t.equal(sum, 2 ** 20, 'the transferred buffer arrived whole');
      if ((await inFlight) === 'refused') counts.transferErrors++;
      counts.transferred++;
    }
    await moving;
    counts.migrations++;
  }
  // Listen to every worker before stopping them: a message that comes while nobody listens is lost.
  const results = Promise.all([...writers, migrator].map(async (worker) => (await once(worker, 'message'))[0] as number));
  Atomics.store(control, 0, 1);
  const passes = await results;
  const workerMigrations = passes.pop()!;

  const ints = new Int32Array(records);
  let broken = 0;
  for (let index = 0; index < RECORDS; index++) {
    const at = index * RECORD_INTS;
    const writer = index % WRITERS;
    if (ints[at] !== writer || ints[at + 1] !== index || ints[at + 2] !== passes[writer] || ints[at + 3] !== check(writer, index, passes[writer])) broken++;
  }
  t.equal(broken, 0, `all ${RECORDS} records intact after ${passes.join(' + ')} writer passes`);
  const memoryNodes = new Set(topology().nodes.filter((node) => node.hasMemory).map((node) => node.id));
  t.ok(pageNodes(records).every((status) => memoryNodes.has(status)), 'every page is on a node with memory');
  t.ok(counts.migrations >= MIN_MIGRATIONS && workerMigrations >= MIN_MIGRATIONS, `${counts.migrations} async migrations here, ${workerMigrations} sync ones in a worker, ` +
    `${counts.binds} policy changes, ${counts.dropped} dropped and ${counts.transferred} transferred buffers mid-migration`);
});
