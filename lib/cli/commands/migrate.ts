// numaplace migrate (migratepages): a process's pages from some nodes to others.
import { idListOrAllText, MAX_NODES, migrationText, nodePairsText } from '../../checks';
import { migrateProcess, processPlacement } from '../../process';
import { memoryNodes } from '../../topology';
import { defineCommand, JSON_OPTION, valued } from '../command';
import { formatBytes, formatIdList, toJson } from '../format';

const DESCRIPTION = `  Moves the pages of process <pid> on the --from nodes to the --to nodes
  (migrate_pages, like migratepages(8)): the i-th node of --from to the i-th of
  --to, so 0,1 to 1,0 swaps them (through a spare node); one --to node takes
  the pages of every --from node. Lists like 0,2 or 0-1, or all (every node
  with memory). Shows progress on a terminal. Moving another user's process,
  and pages it shares with other processes, needs CAP_SYS_NICE. Exit code 1
  when pages stayed behind on a --from node.`;

const PROGRESS_INTERVAL_MS = 200;

export interface MigrateOutcome {
  pid: number;
  from: number[];
  to: number[];
  notMoved: number;
  /**
   * Bytes on the --from nodes that are not also --to nodes, before and after,
   * from numa_maps (absent when it cannot be read).
   */
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

export async function migrateNodes(
  pid: number,
  from: number[],
  to: number[],
  progress: ((line: string) => void) | undefined,
): Promise<MigrateOutcome> {
  // A node both emptied and filled (a swap) says nothing by its total.
  const emptied = from.filter((node) => !to.includes(node));
  const bytesBefore = bytesOn(pid, emptied);
  const started = performance.now();
  const timer = progress && bytesBefore !== undefined
    ? setInterval(() => {
        const left = bytesOn(pid, emptied);
        if (left === undefined) return;
        const moved = Math.max(0, bytesBefore - left);
        const percent = bytesBefore > 0 ? Math.floor((moved / bytesBefore) * 100) : 100;
        progress(`moving pid ${pid}: ${formatBytes(moved)} of ${formatBytes(bytesBefore)} (${percent}%)`);
      }, PROGRESS_INTERVAL_MS)
    : undefined;
  try {
    const { notMoved } = await migrateProcess(pid, from, to);
    return { pid, from, to, notMoved, bytesBefore, bytesAfter: bytesOn(pid, emptied), elapsedMs: performance.now() - started };
  } finally {
    clearInterval(timer);
  }
}

/** Whether pages stayed where they were asked to leave: the kernel's count, or what numa_maps still shows. */
function leftBehind(outcome: MigrateOutcome): boolean {
  return outcome.notMoved > 0 || (outcome.bytesAfter ?? 0) > 0;
}

function formatMigrateOutcome(outcome: MigrateOutcome, json: boolean): string {
  if (json) return toJson(outcome);
  const { bytesBefore, bytesAfter } = outcome;
  const amount = bytesBefore !== undefined && bytesAfter !== undefined ? `${formatBytes(Math.max(0, bytesBefore - bytesAfter))} ` : '';
  const emptied = outcome.from.filter((node) => !outcome.to.includes(node));
  const left = bytesAfter !== undefined && emptied.length > 0 ? `; ${formatBytes(bytesAfter)} left on node(s) ${formatIdList(emptied)}` : '';
  const why = leftBehind(outcome)
    ? '\npages left behind: pages shared with other processes move only with CAP_SYS_NICE (run as root), and pages pinned for I/O do not move'
    : '';
  return (
    `pid ${outcome.pid}: moved ${amount}from node(s) ${formatIdList(outcome.from)} to ${formatIdList(outcome.to)} ` +
    `in ${(outcome.elapsedMs / 1000).toFixed(2)} s; ${outcome.notMoved} page(s) could not be moved${left}${why}`
  );
}

const nodeList = (text: string, fn: string, option: string) => idListOrAllText(text, fn, option, MAX_NODES - 1);

export const migrateCommand = defineCommand({
  name: 'migrate',
  summary: "move a process's pages between nodes (migratepages)",
  usage: ['migrate <pid> --from <nodes> --to <nodes> [--json]', 'migrate <pid> <from-nodes> <to-nodes> [--json]'],
  description: DESCRIPTION,
  options: {
    from: valued('nodes', 'the nodes to move pages from: 0,2, 0-1 or all', nodeList),
    to: valued('nodes', 'the nodes to move them to, in the same order, or one node for all', nodeList),
    ...JSON_OPTION,
  },
  check: (values, operands, fn) => {
    const typed = migrationText(operands, values, fn);
    // `all`: every node with memory, as migratepages takes it.
    const every = (nodes: number[] | 'all') => (nodes === 'all' ? memoryNodes(fn) : nodes);
    return { pid: typed.pid, ...nodePairsText(every(typed.from), every(typed.to), fn), json: values.json === true };
  },
  run: async ({ pid, from, to, json }) => {
    const showProgress = !json && process.stderr.isTTY === true;
    const progress = showProgress ? (line: string) => process.stderr.write(`\r${line}\x1b[K`) : undefined;
    const outcome = await migrateNodes(pid, from, to, progress);
    if (showProgress) process.stderr.write('\r\x1b[K');
    return { text: formatMigrateOutcome(outcome, json), exitCode: leftBehind(outcome) ? 1 : 0 };
  },
});
