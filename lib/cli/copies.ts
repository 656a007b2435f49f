// numaplace run --per-node: one copy of the command per node. Each copy is a
// child that becomes the command through the same native exec as a single
// run (lib/cli/copy.ts), in a process group of its own and killed if this
// parent dies. The parent waits for every copy, passes each signal it gets
// on to each copy once (a terminal's signals reach only the parent's group),
// and exits with the first failing copy's status.
import { type ChildProcess, spawn } from 'node:child_process';
import { Socket } from 'node:net';
import { constants } from 'node:os';
import path from 'node:path';
import { type ChildPlacement, NODE_VARIABLE, startPlaced } from '../children';

/** What a copy runs between its fork and its exec. */
const COPY_SCRIPT = path.join(__dirname, 'copy.js');

// Every signal a user or a terminal sends that the command may act on; not
// SIGCHLD (libuv's), SIGPIPE and SIGXFSZ (about the parent's own writes), the
// faults (SIGSEGV, SIGBUS, SIGFPE, SIGILL) nor SIGKILL and SIGSTOP (uncatchable).
const PASSED_ON: readonly NodeJS.Signals[] = ['SIGHUP', 'SIGINT', 'SIGQUIT', 'SIGTERM', 'SIGUSR1', 'SIGUSR2', 'SIGALRM', 'SIGWINCH', 'SIGCONT'];
// These stop the copies, then the parent, as a shell stops a job; SIGCONT resumes them.
const STOPS: ReadonlySet<NodeJS.Signals> = new Set(['SIGTSTP', 'SIGTTIN', 'SIGTTOU']);

export interface PlacedCopy {
  node: number;
  placement: ChildPlacement;
}

interface Copy {
  child: ChildProcess;
  /** The signals that came before its exec, for the command once it runs; undefined from then on. */
  held: NodeJS.Signals[] | undefined;
  status: Promise<number>;
}

/** The exit status a shell would give: the code, or 128 + the signal's number. */
function exitStatus(fn: string, child: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    child.on('error', (error) => {
      // Also emitted for a signal the copy may not get (a set-user-ID command): only a copy never started ends here.
      if (child.pid !== undefined) return;
      process.stderr.write(`${fn}: cannot start a copy: ${error.message}\n`);
      resolve(126);
    });
    child.on('exit', (code, signal) => resolve(signal ? 128 + (constants.signals[signal] ?? 0) : (code ?? 1)));
  });
}

function startCopy(fn: string, { node, placement }: PlacedCopy, command: string, args: string[]): Copy {
  const env = { ...process.env, [NODE_VARIABLE]: String(node) };
  const child = startPlaced(fn, placement, () =>
    spawn(process.execPath, [COPY_SCRIPT, String(process.pid), command, ...args], { stdio: ['inherit', 'inherit', 'inherit', 'pipe'], env }),
  );
  const copy: Copy = { child, held: [], status: exitStatus(fn, child) };
  // The copy's end of this pipe closes when it execs (Node.js marks every
  // descriptor it inherits close-on-exec) or dies: from then on the command
  // gets the signals, never the Node.js process before it.
  const ready = child.stdio[3];
  if (ready instanceof Socket) {
    ready.on('close', () => {
      const held = copy.held ?? [];
      copy.held = undefined;
      for (const signal of held) child.kill(signal);
    });
    ready.resume();
  }
  return copy;
}

/** Starts a copy of the command for each placement, and resolves to the first failing copy's status (0 when none fails). */
export async function runCopies(fn: string, placements: PlacedCopy[], command: string, args: string[]): Promise<number> {
  const copies = placements.map((placed) => startCopy(fn, placed, command, args));
  const passOn = (signal: NodeJS.Signals) => {
    for (const copy of copies) {
      if (copy.held) copy.held.push(signal);
      else copy.child.kill(signal);
    }
    if (STOPS.has(signal)) process.kill(process.pid, 'SIGSTOP');
  };
  const signals = [...PASSED_ON, ...STOPS];
  for (const signal of signals) process.on(signal, passOn);
  try {
    const statuses = await Promise.all(copies.map((copy) => copy.status));
    return statuses.find((status) => status !== 0) ?? 0;
  } finally {
    for (const signal of signals) process.off(signal, passOn);
  }
}
