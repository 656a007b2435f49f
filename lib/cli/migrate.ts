import { migrateProcess, processPlacement } from '../process';
import { formatBytes, formatIdList, toJson } from './format';

export const MIGRATE_HELP = `numaplace migrate <pid> --from <nodes> --to <nodes> [--json]

  Moves the pages of process <pid> on --from nodes to the --to nodes
  (migrate_pages, like migratepages(8)): the i-th node of --from to the i-th of
  --to; lists like 0,2 or 0-1. Shows progress on a terminal. Moving another
  user's process needs CAP_SYS_NICE. Exit code 3 when some pages stayed behind.`;

const PROGRESS_INTERVAL_MS = 200;

export interface MigrateOutcome {
  pid: number;
  from: number[];
  to: number[];
  notMoved: number;
  /** Bytes on the --from nodes before and after, from numa_maps (absent when it cannot be read). */
  bytesBefore?: number;
  bytesAfter?: number;
  elapsedMs: number;
}

/**
 * Bytes of the process on `nodes`, or undefined when its numa_maps cannot be
 * read (no such process, or another user's without ptrace access): then
 * migrateProcess gives the error that explains it, ESRCH or EPERM.
 */
function bytesOn(pid: number, nodes: number[]): number | undefined {
  try {
    const { bytesByNode } = processPlacement(pid);
    return nodes.reduce((sum, node) => sum + (bytesByNode.get(node) ?? 0), 0);
  } catch {
    return undefined;
  }
}

export async function migrateCommand(
  pid: number,
  from: number[],
  to: number[],
  progress: ((line: string) => void) | undefined,
): Promise<MigrateOutcome> {
  const bytesBefore = bytesOn(pid, from);
  const started = performance.now();
  const timer = progress && bytesBefore !== undefined
    ? setInterval(() => {
        const left = bytesOn(pid, from);
        if (left === undefined) return;
        const moved = Math.max(0, bytesBefore - left);
        const percent = bytesBefore > 0 ? Math.floor((moved / bytesBefore) * 100) : 100;
        progress(`moving pid ${pid}: ${formatBytes(moved)} of ${formatBytes(bytesBefore)} (${percent}%)`);
      }, PROGRESS_INTERVAL_MS)
    : undefined;
  try {
    const { notMoved } = await migrateProcess(pid, from, to);
    return { pid, from, to, notMoved, bytesBefore, bytesAfter: bytesOn(pid, from), elapsedMs: performance.now() - started };
  } finally {
    clearInterval(timer);
  }
}

export function formatMigrateOutcome(outcome: MigrateOutcome, json: boolean): string {
  if (json) return toJson(outcome);
  const { bytesBefore, bytesAfter } = outcome;
  const amount = bytesBefore !== undefined && bytesAfter !== undefined ? `${formatBytes(Math.max(0, bytesBefore - bytesAfter))} ` : '';
  const left = bytesAfter !== undefined ? `; ${formatBytes(bytesAfter)} left on node(s) ${formatIdList(outcome.from)}` : '';
  return (
    `pid ${outcome.pid}: moved ${amount}from node(s) ${formatIdList(outcome.from)} to ${formatIdList(outcome.to)} ` +
    `in ${(outcome.elapsedMs / 1000).toFixed(2)} s; ${outcome.notMoved} page(s) could not be moved${left}`
  );
}
