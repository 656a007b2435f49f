// One answer per condition (README, "One answer per condition"): every
// public function and the CLI answer a node or CPU that is not online, or a
// process that does not exist or has exited, with the same code, found before
// any system call (so no syscall is named), in a message that starts with the
// function the caller called.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import * as numaplace from '../lib/index';
import { absentNode, filledBuffer, memoryNodeIds, numaplace as cli, unusedPid } from './helpers';

const WORKER = path.join(__dirname, 'fixtures', 'report-placement.js');

const NO_SUCH_PID = unusedPid();

/** Each call's error: thrown or rejected, or what it returned. */
async function outcome(call: () => unknown): Promise<unknown> {
  try {
    return await call();
  } catch (error) {
    return error;
  }
}

function expectCondition(t: Test, fn: string, error: unknown, code: string, message: RegExp): void {
  t.match(error, { name: 'NumaError', code, message: new RegExp(`^${fn}: ${message.source}`) }, fn);
  t.equal((error as { syscall?: string }).syscall, undefined, `${fn}: found before any system call`);
}

t.test('a node that is not online: ENODEV from every function that takes a node', async (t) => {
  const node = absentNode();
  const home = memoryNodeIds()[0];
  const buffer = filledBuffer(2 * 4096);
  const pages = numaplace.pageNodes(buffer).length;
  const memory = numaplace.allocLocal(4096);
  const calls: [string, () => unknown][] = [
    ['migrateBuffer', () => numaplace.migrateBuffer(buffer, node)],
    ['migrateBufferSync', () => numaplace.migrateBufferSync(buffer, node)],
    ['movePages', () => numaplace.movePages(buffer, new Int32Array(pages).fill(node))],
    ['movePagesSync', () => numaplace.movePagesSync(buffer, new Int32Array(pages).fill(node))],
    ['bindBuffer', () => numaplace.bindBuffer(memory, { mode: 'bind', nodes: [node] })],
    ['setThreadPolicy', () => numaplace.setThreadPolicy({ mode: 'preferred', nodes: [node] })],
    ['setHomeNode', () => numaplace.setHomeNode(memory, node)],
    ['allocOnNode', () => numaplace.allocOnNode(4096, node)],
    ['allocInterleaved', () => numaplace.allocInterleaved(4096, [home, node])],
    ['pinThread', () => numaplace.pinThread({ node })],
    ['startWorkerOnNode', () => numaplace.startWorkerOnNode(WORKER, node)],
    ['spawnOnNode', () => numaplace.spawnOnNode(node, 'true')],
    ['forkOnNode', () => numaplace.forkOnNode(node, WORKER)],
    ['clusterForkOnNode', () => numaplace.clusterForkOnNode(node)],
    ['bestNode', () => numaplace.bestNode({ near: { node } })],
    ['nearestMemoryNode', () => numaplace.nearestMemoryNode(node)],
    ['migrateProcess', () => numaplace.migrateProcess(0, [node], [home])],
    ['migrateProcessSync', () => numaplace.migrateProcessSync(0, [home], [node])],
    ['keepNear', () => numaplace.keepNear(buffer, { node })],
  ];
  for (const [fn, call] of calls) expectCondition(t, fn, await outcome(call), 'ENODEV', new RegExp(`node ${node} is not online \\(ENODEV\\)`));
  t.equal(numaplace.threadPolicy().mode, 'default', 'the thread policy is unchanged');

  for (const args of [['run', '--node', String(node), '--', 'true'], ['migrate', String(process.pid), '--from', String(node), '--to', String(home)]]) {
    const { code, stderr } = cli(args);
    t.equal(code, 1, `numaplace ${args[0]}: exit 1`);
    t.match(stderr, new RegExp(`node ${node} is not online \\(ENODEV\\)`), `numaplace ${args[0]}`);
  }
});

t.test('a CPU that is not online: ENODEV from every function that takes a CPU', async (t) => {
  const cpu = 100_000;
  const calls: [string, () => unknown][] = [
    ['pinThread', () => numaplace.pinThread([cpu])],
    ['nodeOfCpu', () => numaplace.nodeOfCpu(cpu)],
    ['bestNode', () => numaplace.bestNode({ near: { cpu } })],
  ];
  for (const [fn, call] of calls) expectCondition(t, fn, await outcome(call), 'ENODEV', new RegExp(`CPU ${cpu} is not online \\(ENODEV\\)`));
});

t.test('a process that does not exist, or has exited: ESRCH', async (t) => {
  const home = memoryNodeIds()[0];
  // A zombie: the background child of a shell that then execs a program which never waits for it.
  const parent = spawn('sh', ['-c', 'sleep 0.1 & echo $!; exec sleep 60'], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => {
    parent.kill('SIGKILL');
  });
  const [line] = (await once(parent.stdout!, 'data')) as [Buffer];
  const zombie = Number(line.toString().trim());
  const state = () => readFileSync(`/proc/${zombie}/stat`, 'utf8').replace(/^.*\) /s, '')[0];
  for (let tries = 0; tries < 500 && state() !== 'Z'; tries++) await new Promise((resolve) => setTimeout(resolve, 10));
  t.equal(state(), 'Z', 'the background child exited and stays unreaped: a zombie');
  for (const [pid, message] of [[NO_SUCH_PID, `no such process ${NO_SUCH_PID}`], [zombie, `process ${zombie} has exited \\(no such process`]] as const) {
    const calls: [string, () => unknown][] = [
      ['processPlacement', () => numaplace.processPlacement(pid)],
      ['migrateProcess', () => numaplace.migrateProcess(pid, [home], [home])],
      ['migrateProcessSync', () => numaplace.migrateProcessSync(pid, [home], [home])],
      ['numaStat', () => numaplace.numaStat({ pid })],
      ['placementAdvice', () => numaplace.placementAdvice({ pid })],
    ];
    for (const [fn, call] of calls) expectCondition(t, fn, await outcome(call), 'ESRCH', new RegExp(message));
    for (const args of [['status', String(pid)], ['migrate', String(pid), '--from', String(home), '--to', String(home)]]) {
      const { code, stderr } = cli(args);
      t.equal(code, 1, `numaplace ${args[0]} ${pid}: exit 1`);
      t.match(stderr, /\(ESRCH\)/, `numaplace ${args[0]} ${pid}`);
    }
  }
});
