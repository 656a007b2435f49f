// Every JavaScript block in README.md runs as a file, as written (an ES module
// importing 'numaplace'), in a guest with nodes 0 and 1: an example that drifts
// from the API fails here. Comment lines that end a block are its expected output.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { childEnv, collectGarbage, multiNodeOrSkip } from './helpers';

const ROOT = path.dirname(path.dirname(realpathSync(require.resolve('../dist/index.js'))));

interface Block {
  line: number;
  code: string;
}

function readmeBlocks(): Block[] {
  const blocks: Block[] = [];
  const lines = readFileSync(path.join(ROOT, 'README.md'), 'utf8').split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] !== '```js') continue;
    const end = lines.indexOf('```', i + 1);
    blocks.push({ line: i + 1, code: lines.slice(i + 1, end).join('\n') });
    i = end;
  }
  return blocks;
}

/** The comment lines that end a block, without their `// `: what it prints last. */
function expectedOutput(code: string): string[] {
  const lines = code.split('\n');
  let first = lines.length;
  while (first > 0 && lines[first - 1].startsWith('// ')) first--;
  return lines.slice(first).map((line) => line.slice(3));
}

t.test('every JavaScript block of the README is a whole ES module using the package', async (t) => {
  const blocks = readmeBlocks();
  t.ok(blocks.length >= 10, `${blocks.length} blocks`);
  for (const block of blocks) t.match(block.code, /^import .* from 'numaplace';$/m, `README.md:${block.line} imports numaplace`);
});

t.test('every JavaScript block of the README runs as written', async (t) => {
  if (!multiNodeOrSkip(t)) return;
  // The blocks run with spawnSync, which holds the event loop: the memory of the tests before
  // (run in this process in the guest) is collected and unmapped first, or a block binding
  // memory to a node that memory fills finds no room (seen: the OOM killer, node 1 full).
  await collectGarbage();
  const free = readFileSync('/sys/devices/system/node/node1/meminfo', 'utf8').match(/MemFree:\s+(\d+)/)?.[1];
  t.comment(`before the blocks: this process ${process.memoryUsage().rss >> 20} MiB resident, node 1 ${Number(free) >> 10} MiB free`);
  const dir = mkdtempSync(path.join(tmpdir(), 'numaplace-readme-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(path.join(dir, 'node_modules'));
  symlinkSync(ROOT, path.join(dir, 'node_modules', 'numaplace'));
  // The worker module the startWorkerOnNode example loads.
  writeFileSync(path.join(dir, 'shard.js'), "const { parentPort, workerData } = require('node:worker_threads');\nparentPort.postMessage({ shard: workerData.shard, done: true });\n");
  for (const block of readmeBlocks()) {
    const file = path.join(dir, `readme-${block.line}.mjs`);
    writeFileSync(file, block.code);
    const run = spawnSync(process.execPath, [file], { cwd: dir, encoding: 'utf8', env: childEnv(), timeout: 180_000 });
    t.equal(run.status, 0, `README.md:${block.line} runs: ${run.stderr}`);
    const expected = expectedOutput(block.code);
    if (expected.length > 0) t.same(run.stdout.trimEnd().split('\n').slice(-expected.length), expected, `README.md:${block.line} prints what its comments say`);
    t.comment(`README.md:${block.line}: ${run.stdout.trim().split('\n').slice(0, 3).join(' | ')}`);
  }
});
