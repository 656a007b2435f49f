// What must hold of this machine before a system call is made: the nodes and
// CPUs named are online (and have the memory or CPUs the call needs), inside
// this process's cpuset, the policy mode and home nodes exist in this kernel,
// moveAll is permitted, the process is alive. Every public function checks its
// conditions here before its first system call, and every failure is a
// NumaError from conditionError() with the code the README's table gives the
// condition: the same condition, the same code, from every function and the CLI.
import { accessSync, constants as fsConstants, readFileSync } from 'node:fs';
import { release } from 'node:os';
import { native } from './binding';
import { capabilities } from './capabilities';
import { callNative, conditionError } from './errors';
import type { PolicyMode } from './mempolicy';
import {
  allowedMemoryNodes,
  memoryNodes,
  type NumaNode,
  numaNodes,
  onlineNodes,
  type PciDevice,
  pciDevices,
  weightFiles,
  type WeightFiles,
} from './topology';

function list(ids: readonly number[]): string {
  return ids.length > 0 ? ids.join(', ') : 'none';
}

/** Each node is online: ENODEV naming the first that is not and the online ones. */
export function requireOnline(fn: string, nodes: Iterable<number>, online: readonly number[] = onlineNodes(fn)): void {
  for (const node of new Set(nodes)) {
    if (!online.includes(node)) throw conditionError(fn, 'ENODEV', `node ${node} is not online`, `online nodes: ${list(online)}`);
  }
}

/**
 * Each node can hold this process's pages: online and with memory (ENODEV),
 * inside the cpuset (EACCES; not for moving another process, whose cpuset is its own).
 */
export function requireMemoryNodes(fn: string, nodes: Iterable<number>, { inCpuset = true } = {}): void {
  const unique = new Set(nodes);
  // One get_mempolicy call answers for the usual case, where every node is
  // allowed; the sysfs files, ten times its cost, only say what is wrong.
  if (inCpuset) {
    const allowed = callNative(fn, 'reading the nodes this process may use', () => native.allowedNodes());
    if ([...unique].every((node) => allowed.includes(node))) return;
  }
  requireOnline(fn, unique);
  const withMemory = memoryNodes(fn);
  const allowed = inCpuset ? allowedMemoryNodes(fn) : withMemory;
  for (const node of unique) {
    if (!withMemory.includes(node)) throw conditionError(fn, 'ENODEV', `node ${node} has no memory`, `nodes with memory: ${list(withMemory)}`);
    if (!allowed.includes(node)) {
      throw conditionError(
        fn,
        'EACCES',
        `node ${node} is outside this process's cpuset`,
        `it may use nodes ${list(allowed)} (Mems_allowed_list in /proc/self/status)`,
      );
    }
  }
}

/**
 * Each node is in the cpuset of process `pid`, whose pages move_pages is to
 * put there: the kernel refuses the whole call otherwise (EACCES).
 */
export function requireInCpusetOf(fn: string, pid: number, nodes: Iterable<number>): void {
  const allowed = allowedMemoryNodes(fn, pid);
  for (const node of new Set(nodes)) {
    if (!allowed.includes(node)) {
      throw conditionError(fn, 'EACCES', `node ${node} is outside the cpuset of process ${pid}`, `it may use nodes ${list(allowed)} (Mems_allowed_list in /proc/${pid}/status)`);
    }
  }
}

/** Node `id` as topology() describes it, online: ENODEV otherwise. */
export function onlineNode(fn: string, id: number, nodes: NumaNode[] = numaNodes(fn)): NumaNode {
  const node = nodes.find((candidate) => candidate.id === id);
  if (!node) throw conditionError(fn, 'ENODEV', `node ${id} is not online`, `online nodes: ${list(nodes.map((candidate) => candidate.id))}`);
  return node;
}

/** An online node with CPUs, for a thread or a process to run on: ENODEV otherwise. */
export function cpuNode(fn: string, id: number, nodes: NumaNode[] = numaNodes(fn)): NumaNode {
  const node = onlineNode(fn, id, nodes);
  if (node.cpus.length === 0) {
    const withCpus = nodes.filter((candidate) => candidate.cpus.length > 0).map((candidate) => candidate.id);
    throw conditionError(fn, 'ENODEV', `node ${id} has no CPUs (memory only)`, `nodes with CPUs: ${list(withCpus)}`);
  }
  return node;
}

/** The node of an online CPU: ENODEV for a CPU that is not online. */
export function nodeOfOnlineCpu(fn: string, cpu: number, nodes: NumaNode[] = numaNodes(fn)): NumaNode {
  const node = nodes.find((candidate) => candidate.cpus.includes(cpu));
  if (!node) throw conditionError(fn, 'ENODEV', `CPU ${cpu} is not online`, `online CPUs: ${formatCpus(nodes)}`);
  return node;
}

function formatCpus(nodes: NumaNode[]): string {
  return list(nodes.flatMap((node) => node.cpus).sort((a, b) => a - b));
}

/** Each CPU is online: ENODEV naming the first that is not. */
export function requireOnlineCpus(fn: string, cpus: readonly number[]): void {
  const nodes = numaNodes(fn);
  for (const cpu of new Set(cpus)) nodeOfOnlineCpu(fn, cpu, nodes);
}

/** A PCI device of this machine: ENODEV for an address it does not have. */
export function pciDevice(fn: string, address: string): PciDevice {
  const devices = pciDevices(fn);
  const device = devices.find((candidate) => candidate.address === address);
  if (!device) {
    const addresses = devices.map((candidate) => candidate.address);
    throw conditionError(fn, 'ENODEV', `there is no PCI device ${address} here`, `devices: ${addresses.join(', ') || 'none'}`);
  }
  return device;
}

/**
 * The nodes of a policy can hold pages: online, with memory, in the cpuset,
 * whatever the mode (the kernel's answers differ by mode: EINVAL for some,
 * silence for others). Static nodes may lie outside the cpuset (the kernel
 * uses them once it includes them); relative nodes are indexes, not nodes.
 */
export function requirePolicyNodes(fn: string, policy: { nodes: number[]; staticNodes: boolean; relativeNodes: boolean }): void {
  if (!policy.relativeNodes) requireMemoryNodes(fn, policy.nodes, { inCpuset: !policy.staticNodes });
}

/** The policy mode exists in this kernel: ENOTSUP otherwise. */
export function requireMode(fn: string, mode: PolicyMode): void {
  const support = capabilities().modes[mode];
  if (!support.supported) throw conditionError(fn, 'ENOTSUP', `policy mode '${mode}' is not supported here: ${support.reason}`);
}

/** set_mempolicy_home_node exists in this kernel: ENOTSUP otherwise. */
export function requireHomeNode(fn: string): void {
  const { homeNode } = capabilities();
  if (!homeNode.supported) throw conditionError(fn, 'ENOTSUP', `home nodes are not supported here: ${homeNode.reason}`);
}

/** moveAll (MPOL_MF_MOVE_ALL) needs CAP_SYS_NICE: EPERM saying so, before the kernel's bare one. */
export function requireMoveAll(fn: string): void {
  const { moveAll } = capabilities();
  if (!moveAll.supported) throw conditionError(fn, 'EPERM', `options.moveAll (pages shared with other processes) ${moveAll.reason}`);
}

/** Process `pid` (0: this one) is alive: ESRCH for one that does not exist or has exited (a zombie). */
export function requireLiveProcess(fn: string, pid: number): void {
  if (pid === 0) return;
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    throw conditionError(fn, 'ESRCH', `no such process ${pid} (it has exited, or the pid is wrong)`);
  }
  // "pid (comm) S ...": the state follows the last ')' (comm may hold any character).
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  if (state === 'Z' || state === 'X') throw conditionError(fn, 'ESRCH', `process ${pid} has exited (no such process: a zombie its parent has not collected yet)`);
}

/** The kernel's weighted-interleave files: ENOTSUP naming the kernel where it has none (before Linux 6.9). */
export function requireWeightFiles(fn: string): WeightFiles {
  const files = weightFiles();
  if (files === null) {
    throw conditionError(
      fn,
      'ENOTSUP',
      `the kernel (${release()}) has no weighted interleave: it needs Linux 6.9+`,
      'weights of your own per buffer work on every kernel: allocWeightedInterleaved() or bindBuffer() with weights',
    );
  }
  return files;
}

/**
 * The kernel's auto mode, which derives the weights from the firmware's
 * bandwidth figures: ENOTSUP before Linux 6.16, ENODEV (the kernel's own
 * answer, said before it) where the firmware gives no bandwidth (ACPI HMAT).
 */
export function requireAutoWeights(fn: string, files: WeightFiles): string {
  if (files.auto === null) throw conditionError(fn, 'ENOTSUP', `'auto' weights need Linux 6.16+ (this is ${release()})`);
  if (!numaNodes(fn).some((node) => node.access?.readBandwidthMBps)) {
    throw conditionError(fn, 'ENODEV', "the firmware gives no memory bandwidth (ACPI HMAT) to derive 'auto' weights from", 'give weights of your own');
  }
  return files.auto;
}

/**
 * A system file this process may write: EACCES for a user other than root,
 * EROFS where sysfs is mounted read-only (as in most containers).
 */
export function requireWritable(fn: string, file: string): void {
  try {
    accessSync(file, fsConstants.W_OK);
  } catch (error) {
    const readOnly = (error as NodeJS.ErrnoException).code === 'EROFS';
    throw conditionError(
      fn,
      readOnly ? 'EROFS' : 'EACCES',
      readOnly ? `${file} is on a read-only sysfs (a container's, usually)` : `this process (uid ${process.getuid?.()}) may not write ${file}`,
      "the system's interleave weights are root's to set; weights of your own per buffer need no privilege: allocWeightedInterleaved() or bindBuffer() with weights",
    );
  }
}
