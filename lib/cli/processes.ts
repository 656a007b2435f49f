// The processes a command is asked about, as `numastat -p` takes them: a pid,
// or every process with a word in its command line (numaplace status and advise).
import { readdirSync, readFileSync } from 'node:fs';
import { NumaError } from '../errors';
import { UsageError } from './command';

/** The command name of process `pid` (0: this one), or '?' once it is gone. */
export function commandName(pid: number): string {
  try {
    return readFileSync(`/proc/${pid === 0 ? 'self' : pid}/comm`, 'utf8').trim();
  } catch {
    return '?';
  }
}

/** The parent of process `pid` (PPid in its status), or 0 when it has none or is gone. */
function parentOf(pid: number): number {
  try {
    return Number(/^PPid:\s*(\d+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** This process and its ancestors: `npx numaplace status foo` runs under npm and a shell whose command lines hold "foo" too. */
function ownLineage(): Set<number> {
  const lineage = new Set<number>();
  for (let pid = process.pid; pid > 0 && !lineage.has(pid); pid = parentOf(pid)) lineage.add(pid);
  return lineage;
}

/**
 * The processes with `pattern` in their command line, like numastat -p
 * <pattern>, but this one and its ancestors: a UsageError naming `fn` when there is none.
 */
export function pidsMatching(fn: string, pattern: string): number[] {
  const pids: number[] = [];
  const lineage = ownLineage();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || lineage.has(Number(entry))) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ').includes(pattern)) pids.push(Number(entry));
    } catch {
      // The process exited meanwhile.
    }
  }
  if (pids.length === 0) throw new UsageError(`${fn}: no process but numaplace and its parents has ${JSON.stringify(pattern)} in its command line`);
  return pids.sort((a, b) => a - b);
}

/** What was read of one process, or why it could not be. */
export type Reading<T> = { pid: number; command: string } & ({ value: T } | { error: NumaError });

/**
 * `read` of each process. Of processes matched by name, one that has exited
 * since is left out and one that cannot be read (another user's) keeps its
 * error, to say so on its own line; a process asked for by pid is the command's error.
 */
export function readEach<T>(pids: number[], byName: boolean, read: (pid: number) => T): Reading<T>[] {
  return pids.flatMap((pid): Reading<T>[] => {
    const command = commandName(pid);
    try {
      return [{ pid, command, value: read(pid) }];
    } catch (error) {
      if (!byName || !(error instanceof NumaError)) throw error;
      return error.code === 'ESRCH' ? [] : [{ pid, command, error }];
    }
  });
}
