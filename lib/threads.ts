// The threads of a process as the kernel shows them under /proc/<pid>/task:
// NUMA balancing's faults per node. A thread can exit between the listing and
// the reading of its files: it is left out.
import { readdirSync } from 'node:fs';
import { translate } from './errors';
import { requireLiveProcess } from './preconditions';
import { readKernelFileIfPresent } from './topology';

/** NUMA balancing's view of a process's memory accesses, from /proc/<pid>/task/<tid>/sched. */
export interface NumaFaults {
  /**
   * Per memory node, the NUMA hinting faults of the process's threads on pages
   * of that node, `private` (pages only the faulting thread used lately) and
   * `shared`, summed over its threads: the scheduler's recent figures, which it
   * halves every scan period, so a weighted count of the last few periods,
   * not a count since the process started.
   */
  byNode: Map<number, { private: number; shared: number }>;
  /** Of those faults, the ones on memory of the node the faulting thread is on now (its current_node). */
  local: number;
  /** All of them: the sum over `byNode`. */
  total: number;
  /** Pages NUMA balancing has migrated for the threads alive now, since each started (numa_pages_migrated): a counter. */
  pagesMigrated: number;
}

function taskDirectory(pid: number): string {
  return `/proc/${pid === 0 ? 'self' : pid}/task`;
}

/** The ids of the process's threads: ESRCH once it has exited, the NumaError of the read otherwise. */
function threadIds(fn: string, pid: number): number[] {
  const dir = taskDirectory(pid);
  try {
    return readdirSync(dir).map(Number);
  } catch (error) {
    requireLiveProcess(fn, pid);
    throw translate(error, fn, `for ${dir}`);
  }
}

/** A thread's `name` file (stat, status, sched), or null once the thread has exited. */
function threadFile(fn: string, pid: number, tid: number, name: string): { text: string; path: string } | null {
  const path = `${taskDirectory(pid)}/${tid}/${name}`;
  const text = readKernelFileIfPresent(fn, path);
  return text === null ? null : { text, path };
}

const FAULTS_LINE = /^numa_faults node=(\d+) task_private=(\d+) task_shared=(\d+)/gm;

/**
 * The NUMA balancing faults of process `pid`'s threads, or null where the
 * kernel shows none: built without CONFIG_NUMA_BALANCING, or without the
 * scheduler's debug files (/proc/<pid>/sched, CONFIG_SCHED_DEBUG).
 */
export function threadFaults(fn: string, pid: number): NumaFaults | null {
  const faults: NumaFaults = { byNode: new Map(), local: 0, total: 0, pagesMigrated: 0 };
  let shown = false;
  for (const tid of threadIds(fn, pid)) {
    const text = threadFile(fn, pid, tid, 'sched')?.text;
    if (text === undefined) continue;
    const current = Number(/^current_node=(\d+)/m.exec(text)?.[1] ?? -1);
    faults.pagesMigrated += Number(/^numa_pages_migrated\s*:\s*(\d+)/m.exec(text)?.[1] ?? 0);
    for (const [, node, privateFaults, sharedFaults] of text.matchAll(FAULTS_LINE)) {
      shown = true;
      const id = Number(node);
      const count = Number(privateFaults) + Number(sharedFaults);
      const entry = faults.byNode.get(id) ?? { private: 0, shared: 0 };
      entry.private += Number(privateFaults);
      entry.shared += Number(sharedFaults);
      faults.byNode.set(id, entry);
      faults.total += count;
      if (id === current) faults.local += count;
    }
  }
  return shown ? faults : null;
}
