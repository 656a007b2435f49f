// The threads of a process as the kernel shows them under /proc/<pid>/task:
// where each runs and may run, and NUMA balancing's faults per node. A thread
// can exit between the listing and the reading of its files: it is left out.
import { readdirSync } from 'node:fs';
import { MAX_CPUS, MAX_NODES } from './checks';
import { malformedFile, translate } from './errors';
import { requireLiveProcess } from './preconditions';
import { readKernelFileIfPresent, statusList } from './topology';

/** Where a thread runs and may run. */
export interface ThreadPlacement {
  tid: number;
  /** The CPU it ran on last (field 39 of /proc/<pid>/task/<tid>/stat). */
  cpu: number;
  /** CPU time it has used, in clock ticks (utime + stime). */
  ticks: number;
  /** The CPUs it may run on: its affinity within its cpuset (Cpus_allowed_list). */
  allowedCpus: number[];
  /** The nodes its cpuset lets it allocate on (Mems_allowed_list). */
  memsAllowed: number[];
}

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

/** An id list field of a status file ("Cpus_allowed_list:\t0-3"). */
/** Where each thread of process `pid` (0: this one) runs, may run and may allocate. */
export function threadPlacements(fn: string, pid: number): ThreadPlacement[] {
  return threadIds(fn, pid).flatMap((tid) => {
    const stat = threadFile(fn, pid, tid, 'stat');
    const status = threadFile(fn, pid, tid, 'status');
    if (!stat || !status) return [];
    // "tid (comm) S ppid …": comm may hold anything, so fields count from the last ')'; field 3 is index 0.
    const fields = stat.text.slice(stat.text.lastIndexOf(')') + 2).split(' ');
    const [utime, stime, cpu] = [fields[14 - 3], fields[15 - 3], fields[39 - 3]].map(Number);
    if (![utime, stime, cpu].every(Number.isInteger)) throw malformedFile(fn, stat.path, stat.text, 'a stat line with fields 14, 15 and 39');
    return [
      {
        tid,
        cpu,
        ticks: utime + stime,
        allowedCpus: statusList(fn, status.path, status.text, 'Cpus_allowed_list', MAX_CPUS),
        memsAllowed: statusList(fn, status.path, status.text, 'Mems_allowed_list', MAX_NODES),
      },
    ];
  });
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
