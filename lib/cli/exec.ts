// numaplace run becomes its command, as numactl does: placed first, it
// replaces itself with the command (native exec), which keeps its pid, its
// terminal, its standard input and its signals, and whose exit status is
// the shell's to see.
import { native } from '../binding';
import { callNative, NumaError } from '../errors';

/** A command that could not be run: the exit status a shell gives for it, and why. */
export interface ExecFailure {
  status: number;
  message: string;
}

/**
 * Replaces this process with `file` (searched in PATH) and `args`; with
 * `parent`, as a copy of --per-node (its own process group, killed with the
 * parent). Returns only when that failed.
 */
export function execCommand(fn: string, file: string, args: string[], parent?: number): ExecFailure {
  const argv = [file, ...args];
  try {
    return callNative(fn, `running ${file}`, () => (parent === undefined ? native.exec(file, argv) : native.exec(file, argv, parent)));
  } catch (error) {
    // As shells do: 127 for a command not found, 126 for one that cannot be run.
    const status = error instanceof NumaError && error.code === 'ENOENT' ? 127 : 126;
    return { status, message: error instanceof Error ? error.message : String(error) };
  }
}

/**
 * SIGUSR1 makes Node.js open its inspector on 127.0.0.1:9229, which runs any
 * code it is sent with this process's rights. A listener replaces Node's own
 * handler for as long as one is installed: numaplace keeps one, which does
 * nothing, from its start (the --per-node parent adds one that passes it on).
 */
export function keepInspectorClosed(): void {
  process.on('SIGUSR1', () => {});
}
