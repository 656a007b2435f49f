// Nothing leaks: RSS stays flat over many sync and async calls, and valgrind
// finds no block lost by the addon. LEAK_CALLS makes the RSS run longer.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import t from 'tap';
import { checkedOnHost, childEnv } from './helpers';

const SCRIPT = path.join(__dirname, 'fixtures/many-calls.js');
const MiB = 2 ** 20;

t.test('RSS stays flat over 100k calls (each round: 2 sync moves, an async move, queries, errors)', async (t) => {
  if (checkedOnHost(t, 'the long leak run')) return;
  const calls = Number(process.env.LEAK_CALLS ?? 20000);
  // A fixed young generation: V8 otherwise grows it to tens of MiB under this load and RSS with it.
  const run = spawnSync(process.execPath, ['--expose-gc', '--max-semi-space-size=1', SCRIPT, String(calls)], { encoding: 'utf8', env: childEnv() });
  t.equal(run.status, 0, run.stderr);
  const { rss, external } = JSON.parse(run.stdout) as { rss: number[]; external: number[] };
  const [before, middle, after] = rss.map((bytes) => (bytes / MiB).toFixed(1));
  // RSS wanders by a few MiB (allocator arenas of the pool threads, V8's old space); a leak grows with
  // every call: 100 bytes a call would be 9 MiB here, and half of it in the second half.
  t.ok(rss[2] - rss[0] < 8 * MiB, `RSS ${before} → ${middle} → ${after} MiB over ~${calls * 5} operations`);
  t.ok(rss[2] - rss[1] < 4 * MiB, 'the second half adds nothing that stays');
  t.ok(external[2] - external[0] < MiB, `external memory ${(external[0] / MiB).toFixed(1)} → ${(external[2] / MiB).toFixed(1)} MiB`);
});

t.test('valgrind: no block lost with the addon on its stack', async (t) => {
  if (checkedOnHost(t, 'the valgrind leak check')) return;
  if (spawnSync('valgrind', ['--version']).status !== 0) {
    t.fail('valgrind is missing: apt-get install valgrind (.ci/run installs it)');
    return;
  }
  const run = spawnSync(
    'valgrind',
    ['--leak-check=full', '--show-leak-kinds=definite', '--errors-for-leak-kinds=definite', '--num-callers=30', process.execPath, '--expose-gc', SCRIPT, '1000'],
    { encoding: 'utf8', env: childEnv() },
  );
  t.equal(run.status, 0, 'the calls ran under valgrind');
  const records = run.stderr.split(/\n(?===\d+== *\n)/).filter((record) => /definitely lost/.test(record));
  const ours = records.filter((record) => record.includes('numaplace.node'));
  t.same(ours, [], `no definitely-lost block allocated through numaplace.node (${records.length} elsewhere in Node)`);
});
