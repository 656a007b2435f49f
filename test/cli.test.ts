// The numaplace command run as a user would: output, --json and exit codes.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { processPlacement, topology } from '../lib/index';
import { formatBar, useColour } from '../lib/cli/format';
import { migrateNodes } from '../lib/cli/commands/migrate';
import { formatStatus } from '../lib/cli/commands/status';
import { checkedOnHost, childEnv, childWithMemory, memoryNodeIds, multiNodeOrSkip, numaplace, stopped } from './helpers';
import packageJson from '../package.json';

const CLI = path.join(__dirname, '..', packageJson.bin.numaplace);
const MiB = 2 ** 20;

t.test('the bin is an executable script', async (t) => {
  t.match(readFileSync(CLI, 'utf8'), /^#!\/usr\/bin\/env node\n/);
});

t.test('numaplace status <pid>: a bar per node, bytes from numa_maps', async (t) => {
  const child = await childWithMemory(t, 32);
  await stopped(child); // its nodes hold still between the two readings
  const { stdout, code } = numaplace(['status', String(child.pid)]);
  t.equal(code, 0);
  t.match(stdout, new RegExp(`^pid ${child.pid} \\(node\\) · [\\d.]+ MiB resident`));
  t.notMatch(stdout, /\x1b\[/, 'no colour codes when stdout is not a terminal');
  const json = JSON.parse(numaplace(['status', String(child.pid), '--json']).stdout);
  const held = Object.values(json.bytesByNode as Record<string, number>).reduce((a, b) => a + b, 0);
  t.ok(held >= 32 * MiB, `--json counts the child's 32 MiB (${held} bytes)`);
  t.equal(json.command, 'node');
  for (const node of Object.keys(json.bytesByNode)) t.match(stdout, new RegExp(`^node ${node}\\s+[has fHo]+\\s+[\\d.]+ [KMG]?i?B`, 'm'));
  child.kill('SIGKILL');
  await once(child, 'exit');
  const gone = numaplace(['status', String(child.pid)]);
  t.equal(gone.code, 1);
  t.match(gone.stderr, /no such process/);
});

t.test('status bars: proportional, coloured only on a terminal without NO_COLOR', async (t) => {
  const segments = [
    { value: 30, letter: 'h', colour: 33 },
    { value: 10, letter: 'a', colour: 36 },
  ];
  t.equal(formatBar(segments, 40, 8, false), 'hhhhhhaa');
  t.equal(formatBar(segments, 80, 8, false), 'hhha    ');
  t.equal(formatBar(segments, 40, 4, true), '\x1b[33m███\x1b[0m\x1b[36m█\x1b[0m');
  const placement = processPlacement(0);
  t.match(formatStatus(placement, 'self', true), /\x1b\[33m█/);
  t.equal(useColour({ isTTY: false } as NodeJS.WriteStream, false), false);
  t.equal(useColour({ isTTY: true } as NodeJS.WriteStream, true), false);
});

t.test('numaplace migrate: same node, errors explained', async (t) => {
  if (checkedOnHost(t, 'a same-node migration and its errors')) return;
  const node = memoryNodeIds()[0];
  const child = await childWithMemory(t, 8);
  const same = numaplace(['migrate', String(child.pid), '--from', String(node), '--to', String(node), '--json']);
  t.equal(same.code, 0);
  t.match(JSON.parse(same.stdout), { pid: child.pid, from: [node], to: [node], notMoved: 0 });
  if (process.getuid?.() === 0) {
    const denied = numaplace(['migrate', String(child.pid), '--from', String(node), '--to', String(node), '--json'], { asNobody: true });
    t.equal(denied.code, 1);
    t.match(JSON.parse(denied.stdout), { error: { code: 'EPERM', syscall: 'migrate_pages', message: /CAP_SYS_NICE/ } });
    t.match(denied.stderr, /CAP_SYS_NICE/);
  }
  child.kill();
  await once(child, 'exit');
  const gone = numaplace(['migrate', String(child.pid), '--from', '0', '--to', '0']);
  t.equal(gone.code, 1);
  t.match(gone.stderr, /no such process \d+ .*\(ESRCH\)/);
});

t.test('numaplace migrate: usage errors', async (t) => {
  if (checkedOnHost(t, 'argument handling')) return;
  const usageErrors = [
    ['migrate', '1', '--from', '0'],
    ['migrate', '1', '--from', '0', '--to', '0,1'],
    ['migrate', 'x', '--from', '0', '--to', '1'],
    ['migrate', '1', '--from', 'a', '--to', '1'],
    ['migrate', '1', '0', '1', '--from', '0'],
    ['migrate', '0', '--from', '0', '--to', '0'],
  ];
  for (const args of usageErrors) {
    const usage = numaplace(args);
    t.equal(usage.code, 2, `usage error: ${args.join(' ')}`);
    t.match(usage.stderr, /^numaplace migrate: [^\n]+\nSee numaplace help migrate\.\n$/, 'said once, with where to read more');
  }
  const huge = numaplace(['migrate', '1', '--from', '0-4294967295', '--to', '0']);
  t.equal(huge.code, 2, 'a range beyond the node ids is refused before it is expanded');
  t.match(huge.stderr, /for `--from` but received string "0-4294967295"/);
  const typo = numaplace(['migrate', '1', '--frm', '0', '--to', '0']);
  t.match(typo.stderr, /^numaplace migrate: unknown option --frm \(did you mean --from\?\); it takes --from, --to, --json, --help\n/);
});

t.test("numaplace migrate: migratepages' habits", async (t) => {
  if (checkedOnHost(t, 'argument handling')) return;
  const node = memoryNodeIds()[0];
  const child = await childWithMemory(t, 8);
  t.teardown(() => child.kill());
  const positional = numaplace(['migrate', String(child.pid), String(node), String(node), '--json']);
  t.equal(positional.code, 0, positional.stderr);
  t.match(JSON.parse(positional.stdout), { pid: child.pid, from: [node], to: [node], notMoved: 0 });
  const all = numaplace(['migrate', String(child.pid), '--from', 'all', '--to', String(node), '--json']);
  t.equal(all.code, 0, all.stderr);
  const others = memoryNodeIds().filter((other) => other !== node);
  t.same(JSON.parse(all.stdout).from, others.length > 0 ? others : [node], '--from all: every other node with memory');
  const absent = numaplace(['migrate', String(child.pid), '--from', '7', '--to', String(node)]);
  t.equal(absent.code, 1, 'a node that is not online is an error, as with migratepages');
  t.match(absent.stderr, /node 7 is not online \(ENODEV\)/);
});

t.test('numaplace status: a name like numastat -p, the whole system without one', async (t) => {
  if (checkedOnHost(t, 'argument handling')) return;
  const marker = `numaplace-status-test-${process.pid}`;
  const child = spawn(process.execPath, ['-e', 'console.log("ready"); setInterval(() => {}, 1000)', marker], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => child.kill());
  await once(child.stdout!, 'data');
  const byName = numaplace(['status', marker]);
  t.equal(byName.code, 0, byName.stderr);
  t.match(byName.stdout, new RegExp(`^pid ${child.pid} \\(node\\)`));
  // Started the way npx starts it: under a shell (and npm) whose command lines hold the name too.
  const wrapped = spawnSync('sh', ['-c', '"$0" "$1" status --json "$2"; status=$?; exit $status', process.execPath, CLI, marker], { encoding: 'utf8', env: childEnv() });
  t.equal(wrapped.status, 0, wrapped.stderr);
  const reports = JSON.parse(wrapped.stdout);
  t.equal(reports.length, 1, 'by name: an array of reports, here one');
  t.match(reports[0], { pid: child.pid, command: 'node' }, 'of the process named: not of the shell that started numaplace');
  if (process.getuid?.() === 0) {
    // Another user's process matched by name: its line says why it cannot be read; the others are shown.
    const denied = numaplace(['status', marker], { asNobody: true });
    t.equal(denied.code, 0, denied.stderr);
    t.match(denied.stdout, new RegExp(`^pid ${child.pid} \\(node\\): numaplace status: open failed for /proc/${child.pid}/numa_maps: EACCES`, 'm'));
  }
  t.equal(numaplace(['status', `${marker}-nobody`]).code, 2, 'no process matches: a usage error');
  t.equal(numaplace(['status', '0']).code, 2, 'pid 0 would be the CLI itself');
  const system = numaplace(['status']);
  t.equal(system.code, 0, system.stderr);
  const nodes = topology().online;
  t.match(system.stdout, new RegExp(`^\\s+${nodes.map((node) => `node${node}`).join('\\s+')}$`, 'm'));
  const counters = JSON.parse(numaplace(['status', '--json']).stdout);
  t.same(Object.keys(counters).map(Number), nodes);
  for (const node of nodes) {
    const text = readFileSync(`/sys/devices/system/node/node${node}/numastat`, 'utf8');
    const missOnFile = Number(/^numa_miss (\d+)$/m.exec(text)![1]);
    t.ok(counters[node].numa_miss <= missOnFile, `node ${node}: numa_miss read from sysfs`);
    t.ok(counters[node].numa_hit > 0, `node ${node}: numa_hit ${counters[node].numa_hit}`);
  }
});

t.test('numaplace --help, --version, unknown commands and options', async (t) => {
  if (checkedOnHost(t, 'argument handling')) return;
  const help = numaplace(['--help']);
  t.equal(help.code, 0);
  for (const command of ['topology', 'status', 'advise', 'top', 'migrate', 'run', 'bench']) {
    t.match(help.stdout, new RegExp(`numaplace ${command}`));
    const own = numaplace([command, '--help']);
    t.equal(own.code, 0);
    t.match(own.stdout, new RegExp(`^numaplace ${command}`));
  }
  for (const command of ['topology', 'status', 'advise', 'top', 'migrate', 'run', 'bench']) {
    const viaHelp = numaplace(['help', command]);
    t.equal(viaHelp.code, 0);
    t.equal(viaHelp.stdout, numaplace([command, '--help']).stdout, `numaplace help ${command}`);
  }
  t.equal(numaplace(['help', 'frobnicate']).code, 2);
  t.match(help.stdout, /^  numaplace version +numaplace's version\n +\(also numaplace --version\)$/m, '--version listed');
  t.equal(numaplace(['--version']).stdout.trim(), packageJson.version);
  const typo = numaplace(['topolgy']);
  t.equal(typo.code, 2);
  t.match(typo.stderr, /^numaplace: unknown command topolgy \(did you mean topology\?\); it takes topology, status, advise, top, migrate, run, show, bench, help, version\nSee numaplace --help\.\n$/);
  const unknownOption = numaplace(['topology', '--from', '1', '--json']);
  t.equal(unknownOption.code, 2);
  t.match(JSON.parse(unknownOption.stdout), { error: { code: 'EUSAGE', message: /^numaplace topology: unknown option --from; it takes --json, --help$/ } });
  // Each command's help and checks come from its description: --json, --no-color only where it has them.
  const takes: Record<string, string[]> = { topology: ['--json'], status: ['--json', '--no-color'], advise: ['--json', '--no-color'], top: ['--interval', '--count', '--once', '--json', '--no-color'], migrate: ['--from', '--to', '--json'], run: ['--membind'], bench: ['--size', '--runs', '--json'] };
  for (const [command, options] of Object.entries(takes)) {
    const own = numaplace(['help', command]).stdout;
    for (const option of [...options, '--help']) t.match(own, new RegExp(`^  (-\\w, |    )${option}( <\\w+>)? `, 'm'), `${command} --help lists ${option}`);
    for (const option of ['--json', '--no-color'].filter((common) => !options.includes(common))) t.notMatch(own, option, `${command} has no ${option}`);
  }
  t.equal(numaplace(['topology', '--no-color']).code, 2, 'no --no-color where nothing is coloured');
  const runJson = numaplace(['run', '--json', '--node', '0', '--', 'true']);
  t.equal(runJson.code, 2);
  t.equal(runJson.stdout, '', 'no JSON from a command without --json');
  t.match(runJson.stderr, /^numaplace run: unknown option --json; [^\n]+\nSee numaplace help run\.\n$/, 'said once');
});

t.test('numaplace status: a node without numastat, or a numastat that is not one, is an error naming the file', async (t) => {
  if (checkedOnHost(t, 'a failing sysfs read')) return;
  if (process.getuid?.() !== 0 || spawnSync('unshare', ['-m', 'true']).status !== 0) return t.plan(0, 'needs root and unshare -m, to hide a sysfs file in a mount namespace');
  const node = topology().online[0];
  const dir = mkdtempSync(path.join(tmpdir(), 'numaplace-numastat-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(path.join(dir, 'numastat'), 'numa_hit lots\n');
  mkdirSync(path.join(dir, 'empty'));
  const nodeDir = `/sys/devices/system/node/node${node}`;
  // `mount --bind` over the node's directory (or file) is seen by this command only.
  const hidden = (source: string, target: string) =>
    spawnSync('unshare', ['-m', 'sh', '-c', 'mount --bind "$0" "$1" && exec "$2" "$3" status', source, target, process.execPath, CLI], { encoding: 'utf8', env: childEnv() });
  const missing = hidden(path.join(dir, 'empty'), nodeDir);
  t.equal(missing.status, 1, missing.stderr);
  t.equal(missing.stderr, `numaplace status: open failed for ${nodeDir}/numastat: ENOENT (no such file or directory)\n`, 'the file named, once, no stack');
  const garbled = hidden(path.join(dir, 'numastat'), `${nodeDir}/numastat`);
  t.equal(garbled.status, 1, garbled.stderr);
  t.equal(garbled.stderr, `numaplace status: ${nodeDir}/numastat holds "numa_hit lots", not a counter name and a whole number (EIO)\n`);
});

t.test('numaplace bench: measured side by side, ratios when there are two nodes', async (t) => {
  const nodes = memoryNodeIds();
  const { stdout, code } = numaplace(['bench', '--size', '4', '--runs', '3', '--json']);
  t.equal(code, 0);
  const result = JSON.parse(stdout);
  t.match(result, { bytes: 4 * MiB, runs: 3, nodes, copy: { unit: 'GiB/s' }, query: { unit: 'ns/page' } });
  for (const name of ['copy', 'query', 'sameNodeMigrate']) {
    t.ok(result[name].min > 0 && result[name].min <= result[name].median && result[name].median <= result[name].max, `${name}: min ≤ median ≤ max`);
  }
  t.match(result.map, /^([0-9a-z*.?!]+\n)+1 cell = \d+ pages? · /, 'a placement map of the buffer');
  if (nodes.length >= 2) t.ok(result.migrateVsCopy > 0 && result.migrateVsCopy === result.migrate.median / result.copy.median);
  else t.notOk('migrate' in result, 'no migration figure on one node');
});

t.test('numaplace bench: text output, usage errors', async (t) => {
  if (checkedOnHost(t, 'bench output and argument handling')) return;
  const text = numaplace(['bench', '--size', '4', '--runs', '1']);
  t.match(text.stdout, /copy \(Buffer\.copy\)\s+[\d.]+ GiB\/s/);
  t.match(text.stdout, /the measured buffer's pages at the end:\n([0-9a-z*.?!]+\n)+1 cell = /);
  t.equal(numaplace(['bench', '--size', '0']).code, 2);
});

t.test('multi-node: numaplace migrate moves a process, with progress', async (t) => {
  const nodes = multiNodeOrSkip(t);
  if (!nodes) return;
  const child = await childWithMemory(t, 32);
  const onNode = (node: number) => processPlacement(child.pid!).bytesByNode.get(node) ?? 0;
  const [from, to] = onNode(nodes[0]) >= onNode(nodes[1]) ? [nodes[0], nodes[1]] : [nodes[1], nodes[0]];
  // migratepages' positional form; exit 1 exactly when pages stayed on the --from node.
  const run = numaplace(['migrate', String(child.pid), String(from), String(to)]);
  t.match(run.stdout, new RegExp(`pid ${child.pid}: moved [\\d.]+ MiB from node\\(s\\) ${from} to ${to}`));
  const [, notMoved, left] = /(\d+) page\(s\) could not be moved; ([\d.]+) /.exec(run.stdout) ?? [];
  t.equal(run.code, Number(notMoved) > 0 || Number(left) > 0 ? 1 : 0, `exit code follows what stayed behind: ${run.stdout}`);
  t.ok(onNode(to) >= 32 * MiB, `numa_maps shows the child's 32 MiB on node ${to}`);
  const lines: string[] = [];
  const outcome = await migrateNodes(child.pid!, [to], [from], (line) => lines.push(line));
  t.ok(outcome.bytesBefore! >= 32 * MiB && outcome.bytesAfter! < outcome.bytesBefore! / 4, 'moved back');
  if (outcome.elapsedMs > 500) t.ok(lines.length > 0, `progress shown during ${outcome.elapsedMs.toFixed(0)} ms`);
  for (const line of lines) t.match(line, /^moving pid \d+: [\d.]+ [KMG]?i?B of [\d.]+ MiB \(\d+%\)$/);
  child.kill();
  await once(child, 'exit');
});
