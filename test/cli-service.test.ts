// numaplace advise and numaplace top, run as a user would (the bin, a child
// process to look at), and their text formatters on figures of a made-up machine.
import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import t, { type Test } from 'tap';
import { adviseOn } from '../lib/advice';
import { ADVICE_EXIT_CODE, formatFinding } from '../lib/cli/commands/advise';
import { formatRate, formatTopFrame, topFrame } from '../lib/cli/commands/top';
import { numaStat, numaStatDelta, placementAdvice } from '../lib/index';
import { checkedOnHost, childEnv, childWithMemory, numaplace, stopped, unusedPid } from './helpers';
import { observation } from './observations';
import packageJson from '../package.json';

const CLI = path.join(__dirname, '..', packageJson.bin.numaplace);

const MiB = 2 ** 20;

t.test('numaplace advise <pid>: the findings of placementAdvice, the exit code says whether there are any', async (t) => {
  const child = await childWithMemory(t, 16);
  // Stopped, its memory and threads hold still; the system's NUMA balancing counters, which advice also
  // reads, do not: the library's advice is read before and after the bin's, until the two agree.
  await stopped(child);
  const kinds = () => placementAdvice({ pid: child.pid! }).map((finding) => finding.kind);
  let run: ReturnType<typeof numaplace> | undefined;
  let text: ReturnType<typeof numaplace> | undefined;
  let expected: string[] = [];
  let stable = false;
  for (let attempt = 0; attempt < 5 && !stable; attempt++) {
    expected = kinds();
    run = numaplace(['advise', String(child.pid), '--json']);
    text = numaplace(['advise', String(child.pid)]);
    stable = isDeepStrictEqual(expected, kinds());
  }
  t.ok(stable, 'the advice held still across the two runs of the bin');
  const findings: unknown = JSON.parse(run!.stdout);
  if (!Array.isArray(findings)) throw new Error(`advise --json printed no array: ${run!.stdout}`);
  t.same(findings.map((finding: { kind: string }) => finding.kind), expected, 'the kinds placementAdvice finds');
  for (const finding of findings) {
    t.match(finding, { kind: String, severity: /^(high|medium|low)$/, message: String, evidence: Object, fix: { call: String, command: String } });
  }
  t.equal(run!.code, findings.length > 0 ? ADVICE_EXIT_CODE : 0, `exit code ${run!.code} for ${findings.length} finding(s)`);
  t.equal(text!.code, run!.code, 'the same exit code without --json');
  t.match(text!.stdout, new RegExp(`^pid ${child.pid} \\(node\\): `));
  if (findings.length === 0) t.match(text!.stdout, /no findings/);
  for (const finding of findings) t.match(text!.stdout, `] ${finding.kind}: `);
  t.notMatch(text!.stdout, /\x1b\[/, 'no colour codes when stdout is not a terminal');
  child.kill('SIGKILL');
  await once(child, 'exit');
});

t.test('numaplace advise: usage errors and a process that is not there', async (t) => {
  if (checkedOnHost(t, 'argument handling')) return;
  const outOfRange = numaplace(['advise', '99999999']);
  t.equal(outOfRange.code, 2);
  t.match(outOfRange.stderr, /^numaplace advise: expected a process id from 1 to \d+ for `pid` but received string "99999999"\nSee numaplace help advise\.\n$/);
  const gone = unusedPid();
  const missing = numaplace(['advise', String(gone), '--json']);
  t.equal(missing.code, 1);
  t.match(JSON.parse(missing.stdout), { error: { code: 'ESRCH', message: new RegExp(`^numaplace advise: no such process ${gone}`) } });
  const none = numaplace(['advise']);
  t.equal(none.code, 2);
  t.match(none.stderr, /^numaplace advise: expected one process id or command name but received none\n/);
  const noMatch = numaplace(['advise', 'no-process-has-this-in-its-command-line']);
  t.equal(noMatch.code, 2);
  t.match(noMatch.stderr, /^numaplace advise: no process but numaplace and its parents has "no-process-has-this-in-its-command-line"/);
});

t.test('numaplace advise <name>: a report per process with the name in its command line', async (t) => {
  if (checkedOnHost(t, 'selection by name')) return;
  const child = await childWithMemory(t, 4);
  // The child's command line is `node -e <script>`: its script holds "Buffer.alloc(4 *".
  const run = numaplace(['advise', 'Buffer.alloc(4 *', '--json']);
  const reports = JSON.parse(run.stdout) as { pid: number; findings: unknown[] }[];
  const own = reports.find((report) => report.pid === child.pid);
  t.ok(own, `the child ${child.pid} is among ${reports.map((report) => report.pid).join(', ')}`);
  t.ok(Array.isArray(own?.findings));
  t.equal(run.code, reports.some((report) => report.findings?.length > 0) ? ADVICE_EXIT_CODE : 0);
});

t.test('advise text: each finding with its evidence, in units, and its fix as code and as a command', async (t) => {
  const [finding] = adviseOn(observation({ bytesByNode: new Map([[0, 10 * MiB], [1, 90 * MiB]]) }));
  const text = formatFinding(finding, false);
  const [first, evidence, call, command] = text.split('\n');
  t.equal(first, `[${finding.severity}] ${finding.kind}: ${finding.message}`);
  t.match(evidence, /^ {2}evidence: nodes 1 · bytes 90\.0 MiB · share 90\.0% · residentBytes 100\.0 MiB · threadNodes 0$/);
  t.equal(call, `  fix:      ${finding.fix.call}`);
  t.equal(command, `  shell:    ${finding.fix.command}`);
  t.match(formatFinding(finding, true), `\x1b[31m${finding.severity}\x1b[0m`, 'a high finding in red on a terminal');
});

/** `numaplace <args>` started, not awaited (for what runs until stopped); killed when test `t` ends. */
function started(t: Test, command: string, args: string[]): ChildProcessWithoutNullStreams {
  const child = spawn(command, args, { env: childEnv(), timeout: 60_000 });
  t.teardown(() => {
    child.kill('SIGKILL');
  });
  return child;
}

/** Everything `child` writes to standard output, and its exit code, once it ends. */
async function outcome(child: ChildProcessWithoutNullStreams): Promise<{ stdout: string; stderr: string; code: number | null }> {
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { stdout, stderr, code };
}

const sum = (bytesByNode: Record<string, number>) => Object.values(bytesByNode).reduce((total, bytes) => total + bytes, 0);

t.test('numaplace top --once --json <pid>: one line, the process per node and the counters by numaStat\'s names', async (t) => {
  const child = await childWithMemory(t, 16);
  const run = numaplace(['top', String(child.pid), '--once', '--json', '--interval', '0.2']);
  t.equal(run.code, 0, run.stderr);
  const lines = run.stdout.trimEnd().split('\n');
  t.equal(lines.length, 1, 'a single JSON line');
  const frame = JSON.parse(lines[0]);
  t.equal(frame.process.pid, child.pid);
  t.equal(frame.process.command, 'node');
  t.ok(sum(frame.process.bytesByNode) >= 16 * MiB, `its nodes hold the child's 16 MiB (${sum(frame.process.bytesByNode)} bytes)`);
  t.ok(frame.seconds >= 0.2, `rates over the interval: ${frame.seconds} s`);
  const stat = numaStat();
  t.same(Object.keys(frame.perSecond.nodes), [...stat.nodes.keys()].map(String), 'the nodes numaStat reads');
  for (const [node, counters] of stat.nodes) t.same(Object.keys(frame.perSecond.nodes[node]), Object.keys(counters), `node ${node}'s counters`);
  t.same(Object.keys(frame.perSecond.vmstat), Object.keys(stat.vmstat), "the system's counters");
  child.kill();
  await once(child, 'exit');
});

t.test('numaplace top --once <pid>: a bar per node of its memory, one per node of allocations', async (t) => {
  const child = await childWithMemory(t, 16);
  await stopped(child); // its nodes hold still between the bin's reading and the test's
  const run = numaplace(['top', String(child.pid), '--once', '--interval', '0.2']);
  t.equal(run.code, 0, run.stderr);
  t.notMatch(run.stdout, /\x1b\[/, 'no colour or cursor codes when stdout is not a terminal');
  const placed = numaStat({ pid: child.pid! }).process!;
  const [memory, allocations] = run.stdout.split('page allocations per second');
  t.match(memory, new RegExp(`^pid ${child.pid} \\(node\\) · [\\d.]+ MiB resident`, 'm'));
  for (const node of placed.bytesByNode.keys()) t.match(memory, new RegExp(`^node ${node}\\s+[has fHo]+\\s+[\\d.]+ [KMG]?i?B`, 'm'), `a bar of its memory on node ${node}`);
  for (const node of numaStat().nodes.keys()) t.match(allocations, new RegExp(`^node ${node}\\s+[lo ]{40}\\s+[\\d.]+$`, 'm'), `a bar of allocations on node ${node}`);
  t.match(run.stdout, /^migration and balancing per second \(\/proc\/vmstat\)$/m);
  child.kill('SIGKILL');
  await once(child, 'exit');
});

t.test('numaplace top --count 2 --interval 0.2 --json: the system, two frames of rates', async (t) => {
  const run = numaplace(['top', '--count', '2', '--interval', '0.2', '--json']);
  t.equal(run.code, 0, run.stderr);
  const frames = run.stdout.trimEnd().split('\n').map((line) => JSON.parse(line));
  t.equal(frames.length, 2);
  for (const frame of frames) {
    t.notOk('process' in frame, 'no process without a pid');
    t.ok(frame.seconds >= 0.2 && frame.seconds < 10, `${frame.seconds} s between readings`);
    for (const counters of Object.values(frame.perSecond.nodes) as Record<string, number>[]) {
      // A rate times its seconds is the count of allocations between the readings.
      for (const rate of Object.values(counters)) t.ok(Number.isInteger(Math.round(rate * frame.seconds * 1e6) / 1e6) && rate >= 0, `rate ${rate}`);
    }
  }
  t.ok(Date.parse(frames[1].time) - Date.parse(frames[0].time) >= 150, `one interval apart: ${frames[0].time}, ${frames[1].time}`);
  const text = numaplace(['top', '--count', '2', '--interval', '0.2']);
  t.equal(text.stdout.match(/^numaplace top · /gm)?.length, 2, 'two text frames');
  t.match(text.stdout, /\n\nnumaplace top · /, 'after a blank line');
});

t.test('numaplace top: usage errors name the option', async (t) => {
  if (checkedOnHost(t, 'argument handling')) return;
  for (const interval of ['0', 'x', '-1', '3601', '1e3']) {
    const run = numaplace(['top', '--once', '--interval', interval]);
    t.equal(run.code, 2, `--interval ${interval}`);
    t.match(run.stderr, new RegExp(`^numaplace top: expected seconds from 0.1 to 3600 for \`--interval\` but received string "${interval}"\\nSee numaplace help top\\.\\n$`));
  }
  const count = numaplace(['top', '--count', '0', '--json']);
  t.equal(count.code, 2);
  t.match(JSON.parse(count.stdout), { error: { code: 'EUSAGE', message: /^numaplace top: expected a number of frames from 1 to \d+ for `--count`/ } });
  t.match(numaplace(['top', '--once', '--count', '2']).stderr, /^numaplace top: --once and --count do not go together/);
  t.match(numaplace(['top', '1', '2']).stderr, /^numaplace top: expected one process id or none but received "1" "2"/);
  const missing = numaplace(['top', String(unusedPid()), '--once']);
  t.equal(missing.code, 1);
  t.match(missing.stderr, /^numaplace top: no such process \d+/);
});

t.test('numaplace top <pid>: a process that exits while watched ends it, exit code 1, a JSON line with --json', async (t) => {
  const child = await childWithMemory(t, 4);
  const top = started(t, process.execPath, [CLI, 'top', String(child.pid), '--interval', '0.2', '--json']);
  const ended = outcome(top);
  await once(top.stdout, 'data');
  child.kill();
  const { stdout, code } = await ended;
  t.equal(code, 1);
  const lines = stdout.trimEnd().split('\n').map((line) => JSON.parse(line));
  t.ok(lines.length >= 2, `${lines.length - 1} frame(s), then the error`);
  t.match(lines.at(-1), { error: { code: 'ESRCH', message: new RegExp(`^numaplace top: .*process ${child.pid}`) } });
  for (const frame of lines.slice(0, -1)) t.equal(frame.process.pid, child.pid);
});

t.test('numaplace top on a terminal: drawn in place, q or Ctrl-C quits and gives the terminal back', async (t) => {
  if (checkedOnHost(t, 'the terminal screen')) return;
  if (spawnSync('script', ['-qfec', 'true', '/dev/null']).status !== 0) return t.plan(0, 'needs script(1) for a terminal');
  for (const key of ['q', '\x03']) {
    const top = started(t, 'script', ['-qfec', `${process.execPath} ${CLI} top --interval 0.2`, '/dev/null']);
    const ended = outcome(top);
    // Once a frame is drawn (after the line saying when the first comes), the key.
    const drawn = new Promise<void>((resolve) => {
      let seen = '';
      top.stdout.on('data', (chunk: Buffer) => {
        seen += chunk.toString();
        if (seen.includes('page allocations per second')) resolve();
      });
    });
    await drawn;
    top.stdin.write(key);
    const { stdout: output, code } = await ended;
    t.equal(code, 0, `${JSON.stringify(key)} quits`);
    t.ok(output.startsWith('\x1b[?1049h\x1b[?25l'), 'the alternate screen, the cursor hidden');
    t.match(output, /\x1b\[Hnumaplace top · /, 'a frame from the top-left corner');
    t.ok(output.endsWith('\x1b[?25h\x1b[?1049l'), 'the cursor and the screen given back');
  }
});

t.test('top frames: rates from two readings, formatted with a bar per node', async (t) => {
  const before = numaStat({ pid: 0 });
  const held = Buffer.alloc(8 * MiB, 1);
  await new Promise((resolve) => setTimeout(resolve, 100));
  const after = numaStat({ pid: 0 });
  const frame = topFrame(before, after, 'self');
  const delta = numaStatDelta(before, after);
  t.equal(frame.seconds, delta.seconds);
  for (const [node, counters] of delta.nodes) t.equal(frame.perSecond.nodes.get(node)?.numa_hit, (counters.numa_hit ?? 0) / delta.seconds, `node ${node}'s numa_hit per second`);
  t.same(frame.process?.bytesByNode, after.process?.bytesByNode);
  const plain = formatTopFrame(frame, false);
  for (const node of after.nodes.keys()) t.match(plain, new RegExp(`^node ${node}\\s+[lo ]{40}`, 'm'));
  for (const node of after.process!.bytesByNode.keys()) t.match(plain, new RegExp(`^node ${node}\\s+[has fHo]+`, 'm'));
  t.notMatch(plain, /\x1b\[/);
  t.match(formatTopFrame(frame, true), /\x1b\[3\dm█/, 'coloured bars on a terminal');
  t.same([0, 0.25, 99.94, 100.4, -2500.6].map(formatRate), ['0', '0.3', '99.9', '100', '-2501']);
  t.ok(held[0] === 1);
});

t.test("the README's advise and top command lines are typed as the commands take them", async (t) => {
  if (checkedOnHost(t, 'the README')) return;
  const readme = readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');
  const blocks = [...readme.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((match) => match[1]);
  // Each `numaplace advise|top …` of a sh block, up to a pipe, redirection, || or comment.
  const lines = blocks.flatMap((block) => [...block.matchAll(/numaplace ((?:advise|top)\b[^#|>\n]*)/g)].map((match) => match[1].trim()));
  t.ok(lines.length >= 5, `${lines.length} command lines`);
  for (const line of lines) {
    // --help after the options: every option and value is read and checked, nothing is run.
    const run = numaplace([...line.split(/\s+/), '--help']);
    t.equal(run.code, 0, `numaplace ${line}: ${run.stderr}`);
  }
});
