#!/usr/bin/env node
// The numaplace command: topology, status, migrate, bench. Exit codes:
// 0 done, 1 the operation failed (the kernel's error is printed), 2 usage error,
// 3 migrate left pages behind.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { NumaError } from '../errors';
import { parseIdList } from '../topology';
import { BENCH_HELP, formatBench, runBench } from './bench';
import { toJson, useColour } from './format';
import { formatMigrateOutcome, MIGRATE_HELP, migrateCommand } from './migrate';
import { STATUS_HELP, statusCommand } from './status';
import { TOPOLOGY_HELP, topologyCommand } from './topology';

const HELP = `numaplace — where a process's memory lives on a NUMA machine

Usage:
  numaplace topology                          nodes, CPUs, memory, distances
  numaplace status <pid>                      a process's memory per node, as bars
  numaplace migrate <pid> --from 0 --to 1     move a process's pages between nodes
  numaplace bench                             quick migration benchmark on this machine

Every command takes --json (machine-readable output) and --help.
Exit codes: 0 done, 1 failed, 2 usage error, 3 migrate left pages behind.`;

class UsageError extends Error {}

const jsonAndHelp = {
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

function parse<O extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: O) {
  try {
    return parseArgs({ args, options: { ...jsonAndHelp, ...options }, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

function pidPositional(positionals: string[]): number {
  if (positionals.length !== 1 || !/^\d+$/.test(positionals[0])) throw new UsageError('expected one process id');
  return Number(positionals[0]);
}

function nodeListOption(value: string | undefined, name: string): number[] {
  if (value === undefined || !/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(value)) {
    throw new UsageError(`--${name} needs a node list such as 0, 0,2 or 0-1`);
  }
  return parseIdList(value);
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

async function run(argv: string[]): Promise<Output> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') return { text: HELP };
  if (command === '--version') return { text: version() };
  switch (command) {
    case 'topology': {
      const { values, positionals } = parse(rest, {});
      if (values.help) return { text: TOPOLOGY_HELP };
      if (positionals.length > 0) throw new UsageError('topology takes no arguments');
      return { text: topologyCommand(values.json === true) };
    }
    case 'status': {
      const { values, positionals } = parse(rest, { 'no-color': { type: 'boolean' } });
      if (values.help) return { text: STATUS_HELP };
      const colour = useColour(process.stdout, values['no-color'] === true);
      return { text: statusCommand(pidPositional(positionals), values.json === true, colour) };
    }
    case 'migrate': {
      const { values, positionals } = parse(rest, { from: { type: 'string' }, to: { type: 'string' } });
      if (values.help) return { text: MIGRATE_HELP };
      const pid = pidPositional(positionals);
      const from = nodeListOption(values.from, 'from');
      const to = nodeListOption(values.to, 'to');
      if (from.length !== to.length) throw new UsageError('--from and --to need the same number of nodes');
      const showProgress = !values.json && process.stderr.isTTY === true;
      const progress = showProgress ? (line: string) => process.stderr.write(`\r${line}\x1b[K`) : undefined;
      const outcome = await migrateCommand(pid, from, to, progress);
      if (showProgress) process.stderr.write('\r\x1b[K');
      return { text: formatMigrateOutcome(outcome, values.json === true), exitCode: outcome.notMoved > 0 ? 3 : 0 };
    }
    case 'bench': {
      const { values, positionals } = parse(rest, { size: { type: 'string' }, runs: { type: 'string' } });
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
