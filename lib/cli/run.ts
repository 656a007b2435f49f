// numaplace run: a command started with its CPUs and memory policy set, as
// numactl starts one; or one copy per node.
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { type ChildPlacement, NODE_VARIABLE, nodePlacement, startPlaced } from '../children';
import { numaNodes } from '../topology';

export const RUN_HELP = `numaplace run [placement] -- <command> [args...]

  Starts a command placed on NUMA nodes, as numactl does: its CPUs and memory
  policy are set before it starts and stay through every exec it makes.

  --node N        the CPUs of node N, memory bound to node N
                  (numactl --cpunodebind=N --membind=N)
  --cpus-only     with --node or --per-node: set the CPUs only
  --mem-only      with --node or --per-node: set the memory only
  --preferred N   memory from node N first, other nodes when it is full
  --interleave L  memory interleaved over the nodes L (0,1 or 0-3)
  --per-node      one copy of the command on each node with CPUs and memory,
                  placed as --node N, with NUMAPLACE_NODE=N in its environment

  --preferred and --interleave replace the memory part of --node. The exit
  status is the command's (128 + the signal's number if a signal ended it;
  with --per-node, the first failing copy's); SIGINT, SIGTERM and SIGHUP are
  passed on to it.`;

/** What the options asked for, checked by the caller: a node, a memory policy, which parts. */
export interface RunRequest {
  node?: number;
  preferred?: number;
  interleave?: number[];
  perNode: boolean;
  cpusOnly: boolean;
  memOnly: boolean;
}

const FORWARDED_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** The placement of one copy: on `node` (when given), its memory policy replaced or left out as asked. */
function placementFor(request: RunRequest, node: number | undefined): ChildPlacement {
  const onNode = node === undefined ? {} : nodePlacement('numaplace run', node, undefined);
  const policy =
    request.preferred !== undefined
      ? { mode: 'preferred' as const, nodes: [request.preferred] }
      : request.interleave !== undefined
        ? { mode: 'interleave' as const, nodes: request.interleave }
        : onNode.policy;
  return { cpus: request.memOnly ? undefined : onNode.cpus, policy: request.cpusOnly ? undefined : policy };
}

/** The exit status a shell would give: the code, or 128 + the signal's number. */
function exitStatus(code: number | null, signal: NodeJS.Signals | null): number {
  if (signal) return 128 + (constants.signals[signal] ?? 0);
  return code ?? 1;
}

/** Resolves to the child's exit status; one that cannot start is 127 (not found) or 126 (not executable). */
function finished(child: ChildProcess, command: string): Promise<number> {
  return new Promise((resolve) => {
    child.on('error', (error: NodeJS.ErrnoException) => {
      process.stderr.write(`numaplace: cannot run ${command}: ${error.code ?? error.message}\n`);
      resolve(error.code === 'ENOENT' ? 127 : 126);
    });
    child.on('exit', (code, signal) => resolve(exitStatus(code, signal)));
  });
}

/** Starts the command (once, or once per node with CPUs and memory) and resolves to the exit status. */
export async function runCommand(request: RunRequest, command: string, args: string[]): Promise<number> {
  const nodes = request.perNode ? numaNodes().filter((node) => node.hasCpu && node.hasMemory).map((node) => node.id) : [request.node];
  // Every placement checked before the first copy starts: a bad one leaves nothing running.
  const placements = nodes.map((node) => ({ node, placement: placementFor(request, node) }));
  const children = placements.map(({ node, placement }) => {
    const env = node === undefined ? process.env : { ...process.env, [NODE_VARIABLE]: String(node) };
    return startPlaced('numaplace run', placement, () => spawn(command, args, { stdio: 'inherit', env }));
  });
  const forward = (signal: NodeJS.Signals) => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  };
  for (const signal of FORWARDED_SIGNALS) process.on(signal, forward);
  try {
    const statuses = await Promise.all(children.map((child) => finished(child, command)));
    return statuses.find((status) => status !== 0) ?? 0;
  } finally {
    for (const signal of FORWARDED_SIGNALS) process.off(signal, forward);
  }
}
