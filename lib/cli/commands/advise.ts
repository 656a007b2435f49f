// numaplace advise: placementAdvice() of a process from the shell — each
// finding, the figures it rests on and the call that fixes it. Nothing is moved.
import { adviceFor, type Finding, type Severity } from '../../advice';
import { operandsText, processText } from '../../checks';
import { defineCommand, JSON_OPTION, NO_COLOR_OPTION } from '../command';
import { formatBytes, formatIdList, toJson, useColour } from '../format';
import { pidsMatching, readEach, type Reading } from '../processes';

/**
 * The exit status when there is advice: 0 would tell a script nothing, 1 and 2
 * are failures and usage errors, so `numaplace advise $PID || alert` works.
 */
export const ADVICE_EXIT_CODE = 3;

const SEVERITY_COLOUR: Record<Severity, number> = { high: 31, medium: 33, low: 90 };

/** An evidence figure as read: node lists as the kernel writes them, bytes in units, shares in percent. */
function formatFigure(key: string, value: unknown): string {
  if (Array.isArray(value)) return formatIdList(value.filter((item): item is number => typeof item === 'number'));
  if (typeof value !== 'number') return String(value);
  if (/bytes$/i.test(key)) return formatBytes(value);
  if (/share$/i.test(key)) return `${(value * 100).toFixed(1)}%`;
  return String(value);
}

/** One finding: severity, kind and message, then its evidence and its fix, as code and as a shell command. */
export function formatFinding(finding: Finding, colour: boolean): string {
  const severity = colour ? `\x1b[${SEVERITY_COLOUR[finding.severity]}m${finding.severity}\x1b[0m` : finding.severity;
  const evidence = Object.entries(finding.evidence).map(([key, value]) => `${key} ${formatFigure(key, value)}`);
  return [
    `[${severity}] ${finding.kind}: ${finding.message}`,
    `  evidence: ${evidence.join(' · ')}`,
    `  fix:      ${finding.fix.call}`,
    ...(finding.fix.command !== finding.fix.call ? [`  shell:    ${finding.fix.command}`] : []),
  ].join('\n');
}

/** A process's findings, or a line saying there are none. */
export function formatAdvice(pid: number, command: string, findings: Finding[], colour: boolean): string {
  if (findings.length === 0) return `pid ${pid} (${command}): no findings: its memory and threads are placed together, as far as the kernel shows`;
  return [`pid ${pid} (${command}): ${findings.length} finding(s), most severe first`, ...findings.map((finding) => formatFinding(finding, colour))].join('\n');
}

function formatReadings(read: Reading<Finding[]>[], byName: boolean, json: boolean, colour: boolean): string {
  if (json) {
    // By pid, the findings array as placementAdvice() returns it (a pid that cannot be read is the command's error); by name, one report per process.
    const [only] = read;
    if (!byName && 'value' in only) return toJson(only.value);
    return toJson(
      read.map((reading) =>
        'error' in reading
          ? { pid: reading.pid, command: reading.command, error: { code: reading.error.code, message: reading.error.message } }
          : { pid: reading.pid, command: reading.command, findings: reading.value },
      ),
    );
  }
  return read
    .map((reading) => ('error' in reading ? `pid ${reading.pid} (${reading.command}): ${reading.error.message}` : formatAdvice(reading.pid, reading.command, reading.value, colour)))
    .join('\n\n');
}

export const adviseCommand = defineCommand({
  name: 'advise',
  summary: "what in a process's placement to change, and the call that does it",
  usage: ['advise <pid> | <name> [--json] [--no-color]'],
  description: `  placementAdvice() of process <pid>: each finding (memory on nodes none of
  its threads run on, threads spread while the memory sits on one node, a
  cpuset that forbids its CPUs' nodes, NUMA balancing off or needlessly on,
  remote accesses, memory on a slow node), most severe first, with the
  figures it rests on and the fix, as numaplace code and as a shell command.
  Nothing is moved. A <name> that is not a number advises on every process
  with it in its command line, but numaplace and the processes that started it.
  --json prints the findings array (by <name>: one { pid, command, findings }
  per process).
  Exit code ${ADVICE_EXIT_CODE} when there is a finding, 0 when there is none, so that a
  script can act on it: numaplace advise 1234 || page-someone.`,
  options: { ...JSON_OPTION, ...NO_COLOR_OPTION },
  check: (values, operands, fn) => {
    const [typed] = operandsText(operands, fn, 1, 1, 'one process id or command name');
    return { target: processText(typed, fn), json: values.json === true, plain: values['no-color'] === true };
  },
  run: ({ target, json, plain }, { fn }) => {
    const byName = 'name' in target;
    const pids = byName ? pidsMatching(fn, target.name) : [target.pid];
    const read = readEach(pids, byName, (pid) => adviceFor(fn, pid));
    const found = read.some((reading) => 'value' in reading && reading.value.length > 0);
    return { text: formatReadings(read, byName, json, useColour(process.stdout, plain)), exitCode: found ? ADVICE_EXIT_CODE : 0 };
  },
});
