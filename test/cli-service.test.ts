// numaplace advise and numaplace top, run as a user would (the bin, a child
// process to look at), and their text formatters on figures of a made-up machine.
import { once } from 'node:events';
import t from 'tap';
import { adviseOn } from '../lib/advice';
import { ADVICE_EXIT_CODE, formatFinding } from '../lib/cli/commands/advise';
import { placementAdvice } from '../lib/index';
import { checkedOnHost, childWithMemory, numaplace, unusedPid } from './helpers';
import { observation } from './observations';

const MiB = 2 ** 20;

t.test('numaplace advise <pid>: the findings of placementAdvice, the exit code says whether there are any', async (t) => {
  const child = await childWithMemory(t, 16);
  const run = numaplace(['advise', String(child.pid), '--json']);
  const findings: unknown = JSON.parse(run.stdout);
  if (!Array.isArray(findings)) throw new Error(`advise --json printed no array: ${run.stdout}`);
  // The library's own advice, read now: the same kinds (the figures moved on meanwhile).
  const expected = placementAdvice({ pid: child.pid! }).map((finding) => finding.kind);
  t.same(findings.map((finding: { kind: string }) => finding.kind), expected, 'the kinds placementAdvice finds');
  for (const finding of findings) {
    t.match(finding, { kind: String, severity: /^(high|medium|low)$/, message: String, evidence: Object, fix: { call: String, command: String } });
  }
  t.equal(run.code, findings.length > 0 ? ADVICE_EXIT_CODE : 0, `exit code ${run.code} for ${findings.length} finding(s)`);
  const text = numaplace(['advise', String(child.pid)]);
  t.equal(text.code, run.code, 'the same exit code without --json');
  t.match(text.stdout, new RegExp(`^pid ${child.pid} \\(node\\): `));
  if (findings.length === 0) t.match(text.stdout, /no findings/);
  for (const finding of findings) t.match(text.stdout, `] ${finding.kind}: `);
  t.notMatch(text.stdout, /\x1b\[/, 'no colour codes when stdout is not a terminal');
  child.kill();
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
