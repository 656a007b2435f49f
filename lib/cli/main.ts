#!/usr/bin/env node
// The numaplace command: each command describes itself (lib/cli/commands/);
// this finds the one named and runs it. Exit codes: 0 done, 1 the operation
// failed (its error printed) or migrate left pages behind, 2 usage error,
// 3 advise found something to change; run exits with its command's status
// (it becomes the command).
import { adviseCommand } from './commands/advise';
import { benchCommand } from './commands/bench';
import { helpCommand } from './commands/help';
import { migrateCommand } from './commands/migrate';
import { runCommand } from './commands/run';
import { showCommand } from './commands/show';
import { statusCommand } from './commands/status';
import { topCommand } from './commands/top';
import { topologyCommand } from './commands/topology';
import { versionCommand } from './commands/version';
import { runCommandLine } from './command';
import { keepInspectorClosed } from './exec';

const COMMANDS = [topologyCommand, statusCommand, adviseCommand, topCommand, migrateCommand, runCommand, showCommand, benchCommand, helpCommand, versionCommand];

async function main(argv: readonly string[]): Promise<void> {
  keepInspectorClosed();
  // Standard output and error are touched only here, after the command: run
  // becomes its command before, and libuv would have changed their flags.
  const output = await runCommandLine(argv, COMMANDS);
  if (output.error) process.stderr.write(`${output.error}\n`);
  if (output.text) process.stdout.write(`${output.text}\n`);
  process.exitCode = output.exitCode ?? 0;
}

void main(process.argv.slice(2));
