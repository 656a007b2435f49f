// A process's cgroup, found as the kernel names it: /proc/<pid>/cgroup gives
// its path in each hierarchy, /proc/self/mountinfo where this process sees
// that hierarchy mounted (/sys/fs/cgroup on most systems, /sys/fs/cgroup/unified
// beside cgroup v1, anywhere in a container).
import path from 'node:path';
import { malformedFile } from './errors';
import { readProcessFile } from './process';
import { readKernelFile, readKernelFileIfPresent } from './topology';

/** The cgroup v2 memory.numa_stat of a process's cgroup. */
export interface CgroupNumaStat {
  /** The cgroup, as /proc/<pid>/cgroup names it: '/system.slice/app.service'. */
  path: string;
  /** The file read. */
  file: string;
  /**
   * Each entry of the file by its key (anon, file, kernel_stack, shmem, …):
   * per node, bytes — but the workingset_* entries count events.
   */
  stats: Record<string, Map<number, number>>;
}

/** The hierarchy a cgroup path is in: v2, or the v1 hierarchy that holds a controller. */
type Hierarchy = { version: 2 } | { version: 1; controller: string };

/** The kernel's escapes in mountinfo paths (\040 for a space, …). */
function unescapeMountPath(text: string): string {
  return text.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/** Where this process sees the hierarchy mounted: the mount point and the cgroup at its root. */
function hierarchyMount(fn: string, hierarchy: Hierarchy): { root: string; mountPoint: string } | null {
  for (const line of readKernelFile(fn, '/proc/self/mountinfo').split('\n')) {
    const [mount, filesystem] = line.split(' - ');
    if (!filesystem) continue;
    const [, , , root, mountPoint] = mount.split(' ');
    const [type, , superOptions = ''] = filesystem.split(' ');
    const matches = hierarchy.version === 2 ? type === 'cgroup2' : type === 'cgroup' && superOptions.split(',').includes(hierarchy.controller);
    if (matches) return { root: unescapeMountPath(root), mountPoint: unescapeMountPath(mountPoint) };
  }
  return null;
}

/** The cgroup path of process `pid` in the hierarchy ("0::/path" for v2, "4:cpuset:/path" for v1), or null. */
function cgroupPath(fn: string, pid: number, hierarchy: Hierarchy): string | null {
  for (const line of readProcessFile(fn, pid, 'cgroup').split('\n')) {
    const [id, controllers, ...rest] = line.split(':');
    if (rest.length === 0) continue;
    const matches = hierarchy.version === 2 ? id === '0' && controllers === '' : controllers.split(',').includes(hierarchy.controller);
    if (matches) return rest.join(':');
  }
  return null;
}

/**
 * The directory of process `pid`'s cgroup in the hierarchy, or null where it is
 * not mounted here or the cgroup lies outside what this process sees of it (another cgroup namespace).
 */
export function cgroupDirectory(fn: string, pid: number, hierarchy: Hierarchy): { path: string; directory: string } | null {
  const cgroup = cgroupPath(fn, pid, hierarchy);
  const mount = cgroup === null ? null : hierarchyMount(fn, hierarchy);
  if (cgroup === null || mount === null || cgroup.split('/').includes('..')) return null;
  const base = mount.root === '/' ? '' : mount.root;
  if (cgroup !== base && !cgroup.startsWith(`${base}/`)) return null;
  return { path: cgroup, directory: path.posix.join(mount.mountPoint, cgroup.slice(base.length)) };
}

/**
 * memory.numa_stat of process `pid`'s cgroup v2, or null where there is none:
 * no cgroup v2 mounted, the memory controller not enabled for the cgroup, or the root cgroup (which has no such file).
 */
export function cgroupNumaStat(fn: string, pid: number): CgroupNumaStat | null {
  const cgroup = cgroupDirectory(fn, pid, { version: 2 });
  if (cgroup === null) return null;
  const file = `${cgroup.directory}/memory.numa_stat`;
  const text = readKernelFileIfPresent(fn, file);
  if (text === null) return null;
  const stats: CgroupNumaStat['stats'] = {};
  for (const line of text.split('\n')) {
    const [key, ...entries] = line.split(' ');
    if (!key) continue;
    if (!entries.every((entry) => /^N\d+=\d+$/.test(entry))) throw malformedFile(fn, file, line, 'a key and N<node>=<value> entries');
    stats[key] = new Map(entries.map((entry) => [Number(entry.slice(1, entry.indexOf('='))), Number(entry.slice(entry.indexOf('=') + 1))]));
  }
  return { path: cgroup.path, file, stats };
}
