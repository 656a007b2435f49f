// Child processes started on a node: their CPUs, memory policy and pages read
// back from the kernel, in the child; the starting thread's own placement after.
import cluster from 'node:cluster';
import { once } from 'node:events';
import path from 'node:path';
import t from 'tap';
import { clusterForkOnNode, forkOnNode, nearestMemoryNode, spawnOnNode, threadAffinity, threadPolicy, topology } from '../lib/index';
import { childEnv } from './helpers';

const REPORTER = path.join(__dirname, 'fixtures', 'report-child-placement.js');

interface Report {
  node: string;
  cpu: { cpu: number; node: number };
  affinity: number[];
  policy: { mode: string; nodes: number[]; flags: object };
  pages: number[];
  forkInWorker?: string;
}

/** What a child on `id` should see: the node's CPUs (or the nearest), its memory (or the nearest). */
function expected(id: number) {
  const machine = topology();
  const node = machine.nodes.find((candidate) => candidate.id === id)!;
  return { node, memoryNode: node.hasMemory ? id : nearestMemoryNode(id) };
}

/** Nodes to start children on: every online node (the guests have CPU-only and memory-only ones). */
const nodes = topology().nodes;

t.test('spawnOnNode: the command runs on the node, its memory bound there, through exec', async (t) => {
  const before = { cpus: threadAffinity(), policy: threadPolicy() };
  for (const { id } of nodes) {
    const { node, memoryNode } = expected(id);
    // sh execs grep: what it reads of itself is what the command was given.
    const child = spawnOnNode(id, 'sh', ['-c', 'echo "node=$NUMAPLACE_NODE"; exec grep -E "^Cpus_allowed_list|^Mems_allowed_list" /proc/self/status'], { env: childEnv() });
    let out = '';
    child.stdout!.on('data', (chunk) => (out += chunk));
    const [code] = await once(child, 'exit');
    t.equal(code, 0, `node ${id}: exit 0`);
    t.match(out, `node=${id}\n`, `node ${id}: NUMAPLACE_NODE`);
    if (node.cpus.length > 0) {
      t.match(out, new RegExp(`Cpus_allowed_list:\\s+${formatList(node.cpus)}\\n`), `node ${id}: its CPUs (${formatList(node.cpus)})`);
    }
    const maps = spawnOnNode(id, 'cat', ['/proc/self/numa_maps'], { env: childEnv() });
    let text = '';
    maps.stdout!.on('data', (chunk) => (text += chunk));
    await once(maps, 'exit');
    const policies = new Set(text.split('\n').filter(Boolean).map((line) => line.split(' ')[1]));
    t.same([...policies], [`bind:${memoryNode}`], `node ${id}: every mapping of cat under bind:${memoryNode}`);
  }
  t.same({ cpus: threadAffinity(), policy: threadPolicy() }, before, 'the calling thread has its own CPUs and policy back');
});

function formatList(ids: number[]): string {
  const runs: string[] = [];
  for (let i = 0; i < ids.length; i++) {
    let j = i;
    while (j + 1 < ids.length && ids[j + 1] === ids[j] + 1) j++;
    runs.push(i === j ? String(ids[i]) : `${ids[i]}-${ids[j]}`);
    i = j;
  }
  return runs.join(',');
}

function report(child: { on(event: 'message', listener: (message: Report) => void): unknown }): Promise<Report> {
  return new Promise((resolve) => child.on('message', resolve));
}

t.test('forkOnNode: a Node.js child whose pages land on the node', async (t) => {
  for (const { id } of nodes) {
    const { node, memoryNode } = expected(id);
    // 'preferred' on the first node only: under emulation every Node.js child costs seconds.
    for (const memory of id === nodes[0].id ? (['bind', 'preferred'] as const) : (['bind'] as const)) {
      const child = forkOnNode(id, REPORTER, [], { env: childEnv(), memory });
      const seen = await report(child);
      await once(child, 'exit');
      t.equal(seen.node, String(id), `node ${id}, ${memory}: NUMAPLACE_NODE`);
      t.same(seen.policy.mode, memory, `node ${id}: policy ${memory}`);
      t.same(seen.policy.nodes, [memoryNode], `node ${id}: on node ${memoryNode}`);
      if (node.cpus.length > 0) {
        t.same(seen.affinity, node.cpus, `node ${id}: its CPUs`);
        t.equal(seen.cpu.node, id, `node ${id}: runs there`);
      }
      t.same([...new Set(seen.pages)], [memoryNode], `node ${id}, ${memory}: its 16 new pages on node ${memoryNode}`);
    }
  }
});

t.test('clusterForkOnNode: one cluster worker per node', async (t) => {
  cluster.setupPrimary({ exec: REPORTER, silent: true });
  // Listening from the start: a worker may report before the one before it.
  const workers = nodes.map(({ id }) => {
    const worker = clusterForkOnNode(id, childEnv());
    return { id, worker, seen: report(worker), exit: once(worker, 'exit') };
  });
  for (const { id, seen: reported } of workers) {
    const { memoryNode } = expected(id);
    const seen = await reported;
    t.equal(seen.node, String(id), `worker on node ${id}`);
    t.same(seen.policy, { mode: 'bind', nodes: [memoryNode], flags: seen.policy.flags }, `worker on node ${id}: bound to node ${memoryNode}`);
    t.same([...new Set(seen.pages)], [memoryNode], `worker on node ${id}: pages on node ${memoryNode}`);
    t.match(seen.forkInWorker, /^TypeError ERR_INVALID_STATE: clusterForkOnNode: call it in the cluster primary/, 'a worker cannot start one');
  }
  await Promise.all(workers.map(({ exit }) => exit));
});

t.test('the children functions check their arguments', async (t) => {
  t.throws(() => spawnOnNode(999, 'true'), { name: 'NumaError', code: 'ENODEV', message: /^spawnOnNode: node 999 is not online/ });
  t.throws(() => spawnOnNode(nodes[0].id, 'true', [], { memroy: 'bind' } as object), { name: 'TypeError', message: /^spawnOnNode: unknown option `options.memroy` \(did you mean `memory`\?\)/ });
  t.throws(() => spawnOnNode(nodes[0].id, ''), { name: 'TypeError', message: /^spawnOnNode: expected a command name or path for `command`/ });
  t.throws(() => spawnOnNode(nodes[0].id, 'true', ['a', 1 as unknown as string]), { name: 'TypeError', message: /`args`/ });
  t.throws(() => spawnOnNode(nodes[0].id, 'true', [], { memory: 'interleave' as 'bind' }), { name: 'RangeError', message: /one of 'bind', 'preferred' for `options.memory`/ });
  t.throws(() => forkOnNode(nodes[0].id, 42 as unknown as string), { name: 'TypeError', message: /^forkOnNode: expected a module path or a file: URL for `modulePath`/ });
  t.throws(() => clusterForkOnNode(nodes[0].id, 'x' as unknown as NodeJS.ProcessEnv), { name: 'TypeError', message: /`env`/ });
});

t.test('spawnOnNode is typed as spawn is: its pipes are there unless stdio says otherwise', async (t) => {
  const node = nodes.find((candidate) => candidate.cpus.length > 0)!.id;
  const piped = spawnOnNode(node, 'echo', ['piped']);
  piped.stdout.setEncoding('utf8'); // no `!`: without a stdio option every pipe exists
  const [text] = (await once(piped.stdout, 'data')) as [string];
  t.equal(text, 'piped\n');
  await once(piped, 'exit');
  const partly = spawnOnNode(node, 'echo', ['partly'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const stdin: null = partly.stdin; // typed null, as spawn() types it: stdin is not piped
  t.equal(stdin, null);
  partly.stdout.setEncoding('utf8');
  t.equal(((await once(partly.stdout, 'data')) as [string])[0], 'partly\n');
  await once(partly, 'exit');
});
