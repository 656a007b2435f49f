#!/usr/bin/env node
// The numaplace command: topology, status, migrate, run, bench. Exit codes:
// 0 done, 1 the operation failed (the kernel's error is printed) or migrate
// left pages behind, 2 usage error; run exits with its command's status.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { NumaError } from '../errors';
import { memoryNodes, parseIdList } from '../topology';
import { BENCH_HELP, formatBench, runBench } from './bench';
import { toJson, useColour } from './format';
import { formatMigrateOutcome, leftBehind, MIGRATE_HELP, migrateCommand } from './migrate';
import { RUN_HELP, type RunRequest, runCommand } from './run';
import { pidsMatching, STATUS_HELP, statusCommand, systemStatusCommand } from './status';
import { TOPOLOGY_HELP, topologyCommand } from './topology';

const HELP = `numaplace — where a process's memory lives on a NUMA machine

Usage:
  numaplace topology                          nodes, CPUs, memory, distances
  numaplace status                            NUMA allocation counters per node, like numastat
  numaplace status <pid|name>                 a process's memory per node, as bars (numastat -p)
  numaplace migrate <pid> --from 0 --to 1     move a process's pages between nodes
  numaplace migrate <pid> 0 1                 the same, as migratepages(8) takes it
  numaplace run --node 1 -- <command>         start a command on node 1's CPUs and memory (numactl)
  numaplace run --per-node -- <command>       one copy of a command per node
  numaplace bench                             quick migration benchmark on this machine
  numaplace help <command>                    one command's help

Every command but run takes --json (machine-readable output), --no-color and --help.
Exit codes: 0 done, 1 failed or migrate left pages behind, 2 usage error; run
exits with its command's status.`;

class UsageError extends Error {}

const COMMON_OPTIONS = {
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  'no-color': { type: 'boolean' },
} as const satisfies ParseArgsConfig['options'];

function parse<O extends NonNullable<ParseArgsConfig['options']>>(command: string, args: string[], options: O) {
  try {
    return parseArgs({ args, options: { ...COMMON_OPTIONS, ...options }, allowPositionals: true, strict: true });
  } catch (error) {
    const option = /'(-[^']*)'/.exec((error as Error).message)?.[1];
    const known = Object.keys({ ...COMMON_OPTIONS, ...options }).map((name) => `--${name}`).join(', ');
    const problem = (error as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ? 'unknown option' : 'bad option';
    throw new UsageError(`${problem} ${option ?? ''} for numaplace ${command} (it takes ${known})`);
  }
}

function pidArgument(text: string | undefined): number {
  if (text === undefined || !/^\d+$/.test(text)) throw new UsageError('expected a process id');
  if (text === '0') throw new UsageError('0 would be numaplace itself: give the id of the process to act on');
  return Number(text);
}

/** A node list such as 0, 0,2 or 0-1; with `all`, every node with memory (like migratepages). */
function nodeList(value: string | undefined, name: string): number[] {
  if (value === 'all') return memoryNodes();
  if (value === undefined || !/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(value)) {
    throw new UsageError(`${name} needs a node list such as 0, 0,2, 0-1 or all`);
  }
  return parseIdList(value);
}

/** The node pairs of a migration: --from and --to (or migratepages' positional form), one --to node for all. */
function migrationPairs(positionals: string[], values: { from?: string; to?: string }) {
  const positional = positionals.length === 3;
  if (positional && (values.from !== undefined || values.to !== undefined)) throw new UsageError('give the nodes either as --from/--to or after the pid, not both');
  if (!positional && positionals.length !== 1) throw new UsageError('expected <pid> --from <nodes> --to <nodes>, or <pid> <from-nodes> <to-nodes>');
  const pid = pidArgument(positionals[0]);
  const to = nodeList(positional ? positionals[2] : values.to, positional ? 'the third argument (to-nodes)' : '--to');
  let from = nodeList(positional ? positionals[1] : values.from, positional ? 'the second argument (from-nodes)' : '--from');
  // One destination for several sources: every source goes there (`--from all --to 1`).
  if (to.length === 1 && from.length > 1) from = from.filter((node) => node !== to[0]);
  const targets = to.length === 1 ? from.map(() => to[0]) : to;
  if (from.length !== targets.length) throw new UsageError('--from and --to need the same number of nodes (or a single --to node)');
  return { pid, from, to: targets };
}

function nodeOption(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new UsageError(`--${name} needs a node id`);
  return Number(value);
}

/** The placement options of numaplace run, checked for combinations that mean nothing. */
function runRequest(values: Record<string, string | boolean | undefined>, positionals: string[]): RunRequest {
  if (values.json) throw new UsageError('run has no --json: the output is the command\'s own');
  if (positionals.length === 0) throw new UsageError('run needs a command: numaplace run --node 0 -- <command> [args...]');
  const request: RunRequest = {
    node: nodeOption(values.node as string | undefined, 'node'),
    preferred: nodeOption(values.preferred as string | undefined, 'preferred'),
    interleave: values.interleave === undefined ? undefined : nodeList(values.interleave as string, '--interleave'),
    perNode: values['per-node'] === true,
    cpusOnly: values['cpus-only'] === true,
    memOnly: values['mem-only'] === true,
  };
  if (request.perNode && request.node !== undefined) throw new UsageError('give either --node or --per-node');
  if (request.preferred !== undefined && request.interleave !== undefined) throw new UsageError('give either --preferred or --interleave');
  if (request.cpusOnly && request.memOnly) throw new UsageError('--cpus-only and --mem-only leave nothing to place together');
  const onNodes = request.node !== undefined || request.perNode;
  if ((request.cpusOnly || request.memOnly) && !onNodes) throw new UsageError('--cpus-only and --mem-only go with --node or --per-node');
  if (!onNodes && request.preferred === undefined && request.interleave === undefined) {
    throw new UsageError('run needs a placement: --node, --per-node, --preferred or --interleave');
  }
  return request;
}

function countOption(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^[1-9]\d*$/.test(value)) throw new UsageError(`--${name} needs a positive integer`);
  return Number(value);
}

function version(): string {
  return JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')).version;
}

type Output = { text: string; exitCode?: number };

const COMMAND_HELP: Record<string, string> = { topology: TOPOLOGY_HELP, status: STATUS_HELP, migrate: MIGRATE_HELP, run: RUN_HELP, bench: BENCH_HELP };

async function run(argv: string[]): Promise<Output> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h') return { text: HELP };
  if (command === 'help') {
    if (rest.length === 0) return { text: HELP };
    const help = COMMAND_HELP[rest[0]];
    if (!help || rest.length > 1) throw new UsageError(`no help for ${JSON.stringify(rest.join(' '))}: the commands are ${Object.keys(COMMAND_HELP).join(', ')}`);
    return { text: help };
  }
  if (command === '--version') return { text: version() };
  switch (command) {
    case 'topology': {
      const { values, positionals } = parse(command, rest, {});
      if (values.help) return { text: TOPOLOGY_HELP };
      if (positionals.length > 0) throw new UsageError('topology takes no arguments');
      return { text: topologyCommand(values.json === true) };
    }
    case 'status': {
      const { values, positionals } = parse(command, rest, {});
      if (values.help) return { text: STATUS_HELP };
      if (positionals.length > 1) throw new UsageError('status takes one process id or command name, or none');
      const colour = useColour(process.stdout, values['no-color'] === true);
      const json = values.json === true;
      if (positionals.length === 0) return { text: systemStatusCommand(json) };
      const target = positionals[0];
      const pids = /^\d+$/.test(target) ? [pidArgument(target)] : pidsMatching(target);
      if (pids.length === 0) throw new UsageError(`no process other than numaplace has ${JSON.stringify(target)} in its command line`);
      return { text: statusCommand(pids, json, colour) };
    }
    case 'migrate': {
      const { values, positionals } = parse(command, rest, { from: { type: 'string' }, to: { type: 'string' } });
      if (values.help) return { text: MIGRATE_HELP };
      const { pid, from, to } = migrationPairs(positionals, values);
      const showProgress = !values.json && process.stderr.isTTY === true;
      const progress = showProgress ? (line: string) => process.stderr.write(`\r${line}\x1b[K`) : undefined;
      const outcome = await migrateCommand(pid, from, to, progress);
      if (showProgress) process.stderr.write('\r\x1b[K');
      return { text: formatMigrateOutcome(outcome, values.json === true), exitCode: leftBehind(outcome) ? 1 : 0 };
    }
    case 'run': {
      const { values, positionals } = parse(command, rest, {
        node: { type: 'string' },
        preferred: { type: 'string' },
        interleave: { type: 'string' },
        'per-node': { type: 'boolean' },
        'cpus-only': { type: 'boolean' },
        'mem-only': { type: 'boolean' },
      });
      if (values.help) return { text: RUN_HELP };
      const request = runRequest(values, positionals);
      return { text: '', exitCode: await runCommand(request, positionals[0], positionals.slice(1)) };
    }
    case 'bench': {
      const { values, positionals } = parse(command, rest, { size: { type: 'string' }, runs: { type: 'string' } });
      if (values.help) return { text: BENCH_HELP };
      if (positionals.length > 0) throw new UsageError('bench takes no arguments');
      const result = runBench(countOption(values.size, 'size', 64), countOption(values.runs, 'runs', 5));
      return { text: formatBench(result, values.json === true) };
    }
    default:
      throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  }
}

function failure(error: unknown, json: boolean): Output {
  if (error instanceof UsageError) {
    process.stderr.write(`numaplace: ${error.message}\nRun numaplace --help for usage.\n`);
    return { text: json ? toJson({ error: { code: 'EUSAGE', message: error.message } }) : '', exitCode: 2 };
  }
  if (error instanceof NumaError || error instanceof TypeError || error instanceof RangeError) {
    process.stderr.write(`numaplace: ${error.message}\n`);
    const { code, syscall } = error as Partial<NumaError>;
    return { text: json ? toJson({ error: { code, syscall, message: error.message } }) : '', exitCode: 1 };
  }
  throw error;
}

async function main(argv: string[]): Promise<void> {
  const json = argv.includes('--json');
  const output = await run(argv).catch((error: unknown) => failure(error, json));
  if (output.text) process.stdout.write(`${output.text}\n`);
  process.exitCode = output.exitCode ?? 0;
}

void main(process.argv.slice(2));
