import { execFileSync } from 'node:child_process';
import path from 'node:path';
import t from 'tap';
import { checkedOnHost, childEnv } from './helpers';

// A child process whose addon cannot load, as on macOS, Windows or a platform without a build.
t.test('without the native addon: the package loads, capabilities() says so, calls throw ENOTSUP', async (t) => {
  if (checkedOnHost(t, 'loading without the addon')) return;
  const script = `
    const numaplace = require(${JSON.stringify(require.resolve('../dist/index.js'))});
    const caught = (call) => { try { call(); return 'no error'; } catch (e) { return { name: e.name, code: e.code, message: e.message }; } };
    numaplace.migrateBuffer(Buffer.alloc(8), 0).catch((e) => e).then((rejection) => console.log(JSON.stringify({
      capabilities: numaplace.capabilities(),
      pageNodes: caught(() => numaplace.pageNodes(Buffer.alloc(8))),
      bindBuffer: caught(() => numaplace.bindBuffer(Buffer.alloc(8), { mode: 'bind', nodes: [0] })),
      currentCpu: caught(() => numaplace.currentCpu()),
      migrateBuffer: { name: rejection.name, code: rejection.code, message: rejection.message },
    })));`;
  const preload = path.join(__dirname, 'fixtures/no-addon.js');
  const out = JSON.parse(
    execFileSync(process.execPath, ['-r', preload, '-e', script], { encoding: 'utf8', env: childEnv() }),
  );
  t.equal(out.capabilities.supported, false);
  t.match(out.capabilities.reason, /No native build was found/);
  t.equal(out.capabilities.modes.bind.supported, false);
  for (const fn of ['pageNodes', 'bindBuffer', 'currentCpu', 'migrateBuffer']) {
    t.match(out[fn], { name: 'NumaError', code: 'ENOTSUP', message: new RegExp(`^${fn}: `) }, `${fn} throws a coded error naming itself`);
  }
  for (const fn of ['pageNodes', 'currentCpu', 'migrateBuffer']) t.match(out[fn].message, /npm rebuild numaplace/, `${fn} says how to get the addon`);
});
