// What a user gets from the registry: pack the package with a prebuilt binary,
// install the tarball into an empty project with no compiler on PATH, and use
// it from CommonJS, ESM, the CLI and type-checked TypeScript.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { checkedOnHost } from './helpers';
import { pageNodes } from '../lib/index';

const ROOT = path.join(__dirname, '..');

/**
 * A directory for a test of installing, removed when test `t` ends; npm's
 * script; and an environment whose PATH has node and the shell npm runs
 * scripts with, nothing else: no cc, c++, make or python.
 */
function installWorkspace(t: Test) {
  const work = mkdtempSync(path.join(tmpdir(), 'numaplace-package-'));
  t.teardown(() => rmSync(work, { recursive: true, force: true }));
  const npmCli = realpathSync(execFileSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).trim());
  const bareBin = path.join(work, 'bin');
  mkdirSync(bareBin);
  symlinkSync(process.execPath, path.join(bareBin, 'node'));
  symlinkSync(realpathSync('/bin/sh'), path.join(bareBin, 'sh'));
  const bareEnv = { HOME: process.env.HOME, PATH: bareBin, CC: '/nonexistent/cc', CXX: '/nonexistent/c++', npm_config_python: '/nonexistent/python3' };
  return { work, npmCli, bareEnv };
}

t.test('a prebuilt package installs and works without a compiler', async (t) => {
  if (checkedOnHost(t, 'packaging (the guest has no registry access)')) return;
  const { work, npmCli, bareEnv } = installWorkspace(t);

  const run = (cwd: string, file: string, args: string[], env: NodeJS.ProcessEnv = { ...process.env }) =>
    execFileSync(file, args, { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const npm = (cwd: string, args: string[], env?: NodeJS.ProcessEnv) => run(cwd, process.execPath, [npmCli, ...args], env);
  const tarballOf = (json: string) => (JSON.parse(json) as { filename: string; files: { path: string }[] }[])[0];

  // Pack as published (dist/ is built by `npm test` first), then add a prebuild made from the packed sources.
  const source = tarballOf(npm(ROOT, ['pack', '--ignore-scripts', '--json', '--pack-destination', work]));
  const stage = path.join(work, 'stage');
  mkdirSync(stage);
  run(stage, 'tar', ['xzf', path.join(work, source.filename)]);
  const staged = path.join(stage, 'package');
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(staged, 'node_modules'));
  run(staged, process.execPath, [path.join(ROOT, 'node_modules/prebuildify/bin.js'), '--napi', '--strip']);
  const packed = tarballOf(npm(staged, ['pack', '--ignore-scripts', '--json', '--pack-destination', work]));

  const files = packed.files.map((file) => file.path);
  t.ok(files.some((file) => /^prebuilds\/linux-x64\/[\w.]+\.node$/.test(file)), 'ships prebuilds/linux-x64/*.node');
  for (const needed of ['dist/index.js', 'dist/index.d.ts', 'dist/cli/main.js', 'types/binding.d.ts', 'binding.gyp', 'native/binding.cc', 'native/numa/migrate.cc', 'README.md', 'LICENSE']) {
    t.ok(files.includes(needed), `ships ${needed}`);
  }
  const unwanted = files.filter((file) => /^(test|build|benchmarks|lib|\.ci|\.github|node_modules)\//.test(file) || file.endsWith('.tsbuildinfo'));
  t.same(unwanted, [], 'ships no tests, sources of dist, build output or CI files');
  t.same(files.filter((file) => file.startsWith('examples/')), ['examples/per-node-server.js'], 'ships the example the README points to');

  const app = path.join(work, 'app');
  mkdirSync(app);
  writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', private: true }));
  npm(app, ['install', '--no-audit', '--no-fund', '--prefer-offline', path.join(work, packed.filename)], bareEnv);
  const installed = path.join(app, 'node_modules', 'numaplace');
  t.notOk(existsSync(path.join(installed, 'build')), 'no source build happened (no build/ directory)');

  const expectedNode = pageNodes(Buffer.alloc(4096, 1))[0];
  const cjs = `const n = require('numaplace'); const b = Buffer.alloc(4096, 1);
    console.log(JSON.stringify({ supported: n.capabilities().supported, node: n.pageNodes(b)[0], path: require.resolve('numaplace') }));`;
  const fromCjs = JSON.parse(run(app, process.execPath, ['-e', cjs], bareEnv));
  t.match(fromCjs, { supported: true, node: expectedNode }, 'require() loads the prebuild and queries a page');
  writeFileSync(
    path.join(app, 'esm.mjs'),
    `import { migrateBufferSync, pageNodes } from 'numaplace';
     import numaplace from 'numaplace';
     const b = Buffer.alloc(4096, 1);
     const report = migrateBufferSync(b, pageNodes(b)[0]);
     console.log(JSON.stringify({ same: numaplace.pageNodes === pageNodes, allOnNode: report.onNode === report.pages && report.pages > 0 }));`,
  );
  t.same(JSON.parse(run(app, process.execPath, ['esm.mjs'], bareEnv)), { same: true, allOnNode: true }, 'named ESM imports work');
  const cli = JSON.parse(run(app, path.join(app, 'node_modules/.bin/numaplace'), ['topology', '--json'], bareEnv));
  t.ok(cli.nodes.length >= 1, 'the numaplace bin runs');
  t.doesNotThrow(() => run(app, process.execPath, ['--check', path.join(installed, 'examples', 'per-node-server.js')], bareEnv), 'the example is there and parses');

  // Types resolve for ESM and CommonJS consumers: a wrong call must be a type error.
  const consumer = `import { migrateBuffer, type MigrationReport } from 'numaplace';
    export const report: Promise<MigrationReport> = migrateBuffer(new Uint8Array(8), 0, { prefault: true });
    // @ts-expect-error a node id is a number
    migrateBuffer(new Uint8Array(8), '1');\n`;
  writeFileSync(path.join(app, 'consumer.mts'), consumer);
  writeFileSync(path.join(app, 'consumer.cts'), consumer);
  const tsc = path.join(ROOT, 'node_modules/typescript/bin/tsc');
  const typeRoots = path.join(ROOT, 'node_modules/@types');
  const flags = ['--noEmit', '--strict', '--module', 'node16', '--moduleResolution', 'node16', '--typeRoots', typeRoots, '--types', 'node'];
  t.doesNotThrow(() => run(app, process.execPath, [tsc, ...flags, 'consumer.mts', 'consumer.cts'], bareEnv), 'tsc type-checks both consumers');
});

t.test('without a prebuild and without a compiler the install still succeeds, and says why calls will fail', async (t) => {
  if (checkedOnHost(t, 'packaging (the guest has no registry access)')) return;
  const { work, npmCli, bareEnv } = installWorkspace(t);
  const npm = (cwd: string, args: string[], env: NodeJS.ProcessEnv = { ...process.env }) =>
    spawnSync(process.execPath, [npmCli, ...args], { cwd, env, encoding: 'utf8' });
  const packed = npm(ROOT, ['pack', '--ignore-scripts', '--json', '--pack-destination', work]);
  const tarball = path.join(work, (JSON.parse(packed.stdout) as { filename: string }[])[0].filename);
  const app = path.join(work, 'app');
  mkdirSync(app);
  writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', private: true }));
  const install = npm(app, ['install', '--no-audit', '--no-fund', '--prefer-offline', '--foreground-scripts', tarball], bareEnv);
  t.equal(install.status, 0, `npm install exits 0 (${install.stderr.slice(-500)})`);
  t.match(install.stdout + install.stderr, /numaplace: no prebuilt addon for this platform, and building one failed/, 'and says what happened');
  const script = `const n = require('numaplace'); const c = n.capabilities();
    let code; try { n.pageNodes(Buffer.alloc(8)); } catch (e) { code = e.code; }
    console.log(JSON.stringify({ supported: c.supported, reason: c.reason, code }));`;
  const used = spawnSync(process.execPath, ['-e', script], { cwd: app, env: bareEnv, encoding: 'utf8' });
  t.match(JSON.parse(used.stdout), { supported: false, reason: /the native addon did not load/, code: 'ENOTSUP' });
});
