// The public types, checked by tsc over typed examples (test/types/): an
// example that should compile and does not, or a line marked @ts-expect-error
// that compiles, fails here.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import t from 'tap';
import { checkedOnHost } from './helpers';

t.test('typed examples type-check as the types promise', async (t) => {
  if (checkedOnHost(t, 'type-checking')) return;
  const tsc = require.resolve('typescript/bin/tsc');
  const project = path.join(__dirname, 'types', 'tsconfig.json');
  const run = () => execFileSync(process.execPath, [tsc, '--noEmit', '-p', project], { encoding: 'utf8' });
  t.doesNotThrow(run, 'tsc -p test/types: no error');
});
