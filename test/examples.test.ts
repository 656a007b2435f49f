// examples/per-node-server.js started both ways its header says, every worker
// asked over HTTP where it runs and where its cache is.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { realpathSync } from 'node:fs';
import { get } from 'node:http';
import { createServer } from 'node:net';
import path from 'node:path';
import t, { type Test } from 'tap';
import { topology } from '../lib/index';
import { childEnv } from './helpers';
import packageJson from '../package.json';

// The repository, also from the compiled tests (dist-tests/ has no examples/).
const ROOT = path.dirname(path.dirname(realpathSync(require.resolve('../dist/index.js'))));
const SERVER = path.join(ROOT, 'examples', 'per-node-server.js');
const CLI = path.join(ROOT, packageJson.bin.numaplace);

interface Where {
  node: number;
  pid: number;
  cpu: { cpu: number; node: number };
  cachePages: Record<string, number>;
}

/** A port nobody listens on now, and the `count` after it. */
async function freePorts(count: number): Promise<number> {
  for (;;) {
    const probe = createServer().listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const port = (probe.address() as { port: number }).port;
    probe.close();
    if (port + count < 65536) return port;
  }
}

/**
 * Resolves once `child` has printed `lines` lines that match `pattern`, with a
 * function that returns all it printed so far on both streams. It reads on to
 * the end: a pipe whose reader stops is closed, and the child's next line (the
 * cluster primary logs each worker's exit) would fail with EPIPE.
 */
async function printed(child: ChildProcess, pattern: RegExp, lines: number): Promise<() => string> {
  let text = '';
  let errors = '';
  child.stderr!.on('data', (chunk) => (errors += chunk));
  const seen = () => text.split('\n').filter((line) => pattern.test(line)).length;
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk) => {
      text += chunk;
      if (seen() >= lines) resolve();
    });
    child.stdout!.on('close', () => reject(new Error(`the server stopped after ${seen()} of ${lines} lines: ${text}${errors}`)));
  });
  return () => text + errors;
}

/**
 * GET on a connection of its own: a kept-alive one can be closed by the server
 * (after its 5 s keep-alive) just as the client reuses it, slow as the guests are.
 */
async function getJson<T>(port: number, url: string): Promise<T> {
  const [response] = await once(get({ host: '127.0.0.1', port, path: url, agent: false }), 'response');
  let body = '';
  for await (const chunk of response) body += chunk;
  return JSON.parse(body) as T;
}

const where = (port: number) => getJson<Where>(port, '/where');

const nodes = topology().nodes.filter((node) => node.hasCpu && node.hasMemory);
// Under emulation each start of Node costs seconds: of the guests, the 3node-hmat one runs these.
const elsewhere = process.env.NUMAPLACE_VM_TOPOLOGY !== undefined && process.env.NUMAPLACE_VM_TOPOLOGY !== '3node-hmat';
const CACHE_PAGES = (4 * 2 ** 20 * 4) / topology().pageSize;

function checkWorker(t: Test, seen: Where, label: string): void {
  t.equal(seen.cpu.node, seen.node, `${label}: answered from a CPU of node ${seen.node}`);
  t.same(seen.cachePages, { [seen.node]: CACHE_PAGES }, `${label}: all ${CACHE_PAGES} pages of its cache on node ${seen.node}`);
}

t.test('as a cluster: one worker per node, one port', async (t) => {
  if (elsewhere) return t.plan(0, 'runs on the host and in the 3node-hmat guest');
  const port = await freePorts(0);
  const primary = spawn(process.execPath, [SERVER], { env: { ...childEnv(), PORT: String(port) } });
  t.teardown(() => primary.kill('SIGKILL'));
  const output = await printed(primary, /serving on port/, nodes.length);
  const byNode = new Map<number, Where>();
  // The primary hands connections to the workers in turn.
  for (let attempt = 0; attempt < 20 * nodes.length && byNode.size < nodes.length; attempt++) {
    const seen = await where(port);
    byNode.set(seen.node, seen);
  }
  t.same([...byNode.keys()].sort((a, b) => a - b), nodes.map((node) => node.id), 'a worker on every node answered');
  for (const seen of byNode.values()) checkWorker(t, seen, `worker ${seen.pid}`);
  const item = await getJson<{ value: number }>(port, '/item/7');
  t.equal(item.value, Math.imul(7, 2654435761) >>> 0, 'the cache answers');
  primary.kill('SIGTERM');
  const [code] = await once(primary, 'exit');
  t.equal(code, 0, 'SIGTERM stops the primary and its workers', { output: output() });
});

t.test('with numaplace run --per-node: a process per node, each on PORT + node', async (t) => {
  if (elsewhere) return t.plan(0, 'runs on the host and in the 3node-hmat guest');
  const port = await freePorts(Math.max(...nodes.map((node) => node.id)));
  const run = spawn(process.execPath, [CLI, 'run', '--per-node', '--', process.execPath, SERVER], { env: { ...childEnv(), PORT: String(port) } });
  t.teardown(() => run.kill('SIGKILL'));
  const output = await printed(run, /serving on port/, nodes.length);
  for (const node of nodes) {
    const seen = await where(port + node.id);
    t.equal(seen.node, node.id, `port ${port + node.id}: node ${node.id}'s process`);
    checkWorker(t, seen, `process on node ${node.id}`);
  }
  run.kill('SIGTERM');
  const [code] = await once(run, 'exit');
  t.equal(code, 128 + 15, 'SIGTERM reached every copy; numaplace exits as they did', { output: output() });
});
