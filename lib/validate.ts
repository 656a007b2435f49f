// Every argument check of the public API, in one place: each returns the
// value in the form the native binding takes, or throws a TypeError (wrong
// type) or RangeError (wrong value) naming the function and the argument, or
// a NumaError for a node that cannot do what is asked.
import { constants } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { types } from 'node:util';
import type { NativePolicy } from '../types/binding';
import { capabilities } from './capabilities';
import { invalidRange, invalidType, NumaError } from './errors';
import { MPOL_F_RELATIVE_NODES, MPOL_F_STATIC_NODES, POLICY_MODES, type PolicyMode } from './mempolicy';
import { allowedMemoryNodes, memoryNodes, numaNodes, onlineNode, onlineNodes } from './topology';

/** Memory numaplace can place: any Buffer, TypedArray, DataView, ArrayBuffer or SharedArrayBuffer. */
export type MemoryView = ArrayBufferView | ArrayBuffer | SharedArrayBuffer;

const VIEW_KINDS = 'a Buffer, TypedArray, DataView, ArrayBuffer or SharedArrayBuffer';

/** The bytes of `value` as a Uint8Array, the form the native binding takes. */
export function byteView(value: unknown, fn: string, arg = 'view'): Uint8Array {
  // Already one (a Buffer too): making another costs a 1-page query ~5%. A
  // detached buffer leaves its views empty: those take the path below, which says so.
  if (value instanceof Uint8Array && value.byteLength !== 0) return value;
  let buffer: ArrayBufferLike;
  let byteOffset = 0;
  let byteLength: number | undefined;
  if (ArrayBuffer.isView(value)) {
    ({ buffer, byteOffset, byteLength } = value);
  } else if (types.isAnyArrayBuffer(value)) {
    buffer = value;
  } else {
    throw invalidType(fn, arg, VIEW_KINDS, value);
  }
  try {
    return new Uint8Array(buffer, byteOffset, byteLength);
  } catch {
    throw new TypeError(`${fn}: \`${arg}\` is backed by a detached ArrayBuffer (it was transferred or freed)`);
  }
}

/** A node or CPU id: a non-negative 32-bit integer (whether it exists is checked where it matters). */
export function idArgument(value: unknown, fn: string, arg: string, what: 'node' | 'CPU'): number {
  const expected = `a non-negative integer ${what} id`;
  if (typeof value !== 'number') throw invalidType(fn, arg, expected, value);
  if (!Number.isInteger(value) || value < 0 || value > 0x7fffffff) throw invalidRange(fn, arg, expected, value);
  return value;
}

export function nodeArgument(value: unknown, fn: string, arg = 'node'): number {
  return idArgument(value, fn, arg, 'node');
}

/** A non-empty array of node ids. */
export function nodeListArgument(value: unknown, fn: string, arg: string): number[] {
  if (!Array.isArray(value)) throw invalidType(fn, arg, 'an array of node ids', value);
  if (value.length === 0) throw invalidRange(fn, arg, 'at least one node id', value);
  return value.map((node, index) => nodeArgument(node, fn, `${arg}[${index}]`));
}

/** A thread's CPUs: a non-empty array of CPU ids, or { node } for the CPUs of a node. */
export function pinTargetArgument(value: unknown, fn: string): number[] {
  if (Array.isArray(value)) {
    if (value.length === 0) throw invalidRange(fn, 'target', 'at least one CPU id', value);
    return value.map((cpu, index) => idArgument(cpu, fn, `target[${index}]`, 'CPU'));
  }
  if (value !== null && typeof value === 'object') return cpusOfNodeArgument((value as { node?: unknown }).node, fn, 'target.node');
  throw invalidType(fn, 'target', 'an array of CPU ids or { node }', value);
}

/** A module to load: a path (relative to the current directory) or a file: URL; returns its absolute path. */
export function moduleArgument(value: unknown, fn: string, arg = 'filename'): string {
  if (value instanceof URL) {
    if (value.protocol !== 'file:') throw invalidRange(fn, arg, 'a file: URL', value.href);
    return fileURLToPath(value);
  }
  if (typeof value !== 'string') throw invalidType(fn, arg, 'a module path or a file: URL', value);
  return path.resolve(value);
}

export function pidArgument(value: unknown, fn: string): number {
  if (typeof value !== 'number') throw invalidType(fn, 'pid', 'a process id', value);
  if (!Number.isInteger(value) || value < 0 || value > 0x3fffffff) throw invalidRange(fn, 'pid', 'a process id (0 = this process)', value);
  return value;
}

/** A byte count for an allocation: a whole number below 2^47, the size of the user address space. */
export function sizeArgument(value: unknown, fn: string): number {
  const expected = 'a whole number of bytes from 1 to 2^47 - 1';
  if (typeof value !== 'number') throw invalidType(fn, 'size', expected, value);
  if (!Number.isSafeInteger(value) || value < 1 || value >= 2 ** 47) throw invalidRange(fn, 'size', expected, value);
  return value;
}

export function int32ArrayArgument(value: unknown, fn: string, arg: string, expected: string): Int32Array {
  if (!(value instanceof Int32Array)) throw invalidType(fn, arg, expected, value);
  return value;
}

/** An options object or undefined; anything else is a TypeError. */
export function optionsArgument<T extends object>(value: T | undefined, fn: string, arg = 'options'): Partial<T> {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object') throw invalidType(fn, arg, 'an options object', value);
  return value;
}

export function booleanOption(value: unknown, fn: string, name: string, fallback = false): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw invalidType(fn, `options.${name}`, 'a boolean', value);
  return value;
}

/** An optional positive integer option (a count or a size); `fallback` when undefined. */
export function positiveIntegerOption(value: unknown, fn: string, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number') throw invalidType(fn, `options.${name}`, 'a positive integer', value);
  if (!Number.isInteger(value) || value < 1 || value > 0x7fffffff) throw invalidRange(fn, `options.${name}`, 'a positive integer', value);
  return value;
}

/** An optional byte count that may be 0 (a threshold, not an allocation); 0 when undefined. */
export function byteCountOption(value: unknown, fn: string, name: string): number {
  if (value === undefined) return 0;
  const expected = 'a whole number of bytes, 0 or more';
  if (typeof value !== 'number') throw invalidType(fn, `options.${name}`, expected, value);
  if (!Number.isSafeInteger(value) || value < 0) throw invalidRange(fn, `options.${name}`, expected, value);
  return value;
}

export function functionOption<T extends (...args: never[]) => unknown>(value: unknown, fn: string, name: string): T | undefined {
  if (value !== undefined && typeof value !== 'function') throw invalidType(fn, `options.${name}`, 'a function', value);
  return value as T | undefined;
}

export function signalOption(value: unknown, fn: string): AbortSignal | undefined {
  if (value !== undefined && !(value instanceof AbortSignal)) throw invalidType(fn, 'options.signal', 'an AbortSignal', value);
  return value;
}

/** The fields of a policy spec: what PolicySpec in policy.ts documents for users. */
interface PolicyFields {
  mode: PolicyMode;
  nodes?: number[];
  staticNodes?: boolean;
  relativeNodes?: boolean;
}

/** A policy spec { mode, nodes, staticNodes?, relativeNodes? } in the kernel's numbers. */
export function policyArgument(spec: unknown, fn: string, arg = 'policy'): NativePolicy {
  if (spec === null || typeof spec !== 'object') throw invalidType(fn, arg, 'a policy object { mode, nodes }', spec);
  const { mode, nodes = [], staticNodes, relativeNodes } = spec as Partial<PolicyFields>;
  if (typeof mode !== 'string' || !(mode in POLICY_MODES)) {
    throw invalidType(fn, `${arg}.mode`, `one of ${Object.keys(POLICY_MODES).join(', ')}`, mode);
  }
  if (!Array.isArray(nodes)) throw invalidType(fn, `${arg}.nodes`, 'an array of node ids', nodes);
  nodes.forEach((node, index) => nodeArgument(node, fn, `${arg}.nodes[${index}]`));
  const wantsNodes = mode !== 'default' && mode !== 'local';
  if (!wantsNodes && nodes.length > 0) throw invalidRange(fn, `${arg}.nodes`, `no nodes for mode '${mode}'`, nodes);
  if (wantsNodes && nodes.length === 0) throw invalidRange(fn, `${arg}.nodes`, `at least one node for mode '${mode}'`, nodes);
  if (mode === 'preferred' && nodes.length !== 1) {
    throw invalidRange(fn, `${arg}.nodes`, "exactly one node for mode 'preferred' (use 'preferred-many')", nodes);
  }
  const flags =
    (booleanOption(staticNodes, fn, 'staticNodes') ? MPOL_F_STATIC_NODES : 0) |
    (booleanOption(relativeNodes, fn, 'relativeNodes') ? MPOL_F_RELATIVE_NODES : 0);
  const support = capabilities().modes[mode];
  if (!support.supported) {
    throw new NumaError(`${fn}: policy mode '${mode}' is not supported here: ${support.reason}`, {
      errno: -constants.errno.EOPNOTSUPP,
      syscall: 'mbind',
    });
  }
  return { mode: POLICY_MODES[mode], flags, nodes };
}

/** Throws an ENODEV NumaError unless every node is online. */
export function checkNodesOnline(fn: string, nodes: Iterable<number>, syscall: string): void {
  const online = onlineNodes();
  for (const node of new Set(nodes)) {
    if (!online.includes(node)) {
      throw new NumaError(`${fn}: node ${node} is not online (ENODEV); online nodes: ${online.join(', ')}`, {
        errno: -constants.errno.ENODEV,
        syscall,
      });
    }
  }
}

/**
 * Throws an ENODEV NumaError unless every node is online and has memory, and
 * an EACCES one for a node outside this process's cpuset (`inCpuset`; not for
 * moving another process, whose cpuset is its own).
 */
export function checkNodesHoldPages(fn: string, nodes: Iterable<number>, syscall: string, inCpuset = true): void {
  const unique = new Set(nodes);
  checkNodesOnline(fn, unique, syscall);
  const withMemory = memoryNodes();
  const allowed = inCpuset ? allowedMemoryNodes() : withMemory;
  for (const node of unique) {
    if (!withMemory.includes(node)) {
      throw new NumaError(`${fn}: node ${node} has no memory (ENODEV); nodes with memory: ${withMemory.join(', ')}`, {
        errno: -constants.errno.ENODEV,
        syscall,
      });
    }
    if (!allowed.includes(node)) {
      throw new NumaError(
        `${fn}: node ${node} is outside this process's cpuset (EACCES); it may use nodes ${allowed.join(', ')} (Mems_allowed_list in /proc/self/status)`,
        { errno: -constants.errno.EACCES, syscall },
      );
    }
  }
}

/**
 * The nodes of a policy must be online, have memory and be in the cpuset,
 * whatever the mode (the kernel's answers differ by mode: EINVAL for some,
 * silence for others);
 * cpuset-relative node numbers (relativeNodes) are indexes, not nodes.
 */
export function checkPolicyNodes(fn: string, spec: { relativeNodes?: boolean; staticNodes?: boolean }, policy: NativePolicy, syscall: string): void {
  // Static nodes may lie outside the cpuset: the kernel uses them once the cpuset includes them.
  if (!spec.relativeNodes) checkNodesHoldPages(fn, policy.nodes, syscall, !spec.staticNodes);
}

/** moveAll (MPOL_MF_MOVE_ALL) needs CAP_SYS_NICE: an EPERM that says so, before the kernel's bare one. */
export function checkMoveAllowed(fn: string, syscall: string): void {
  const { moveAll } = capabilities();
  if (!moveAll.supported) {
    throw new NumaError(`${fn}: options.moveAll (pages shared with other processes) ${moveAll.reason} (EPERM)`, {
      errno: -constants.errno.EPERM,
      syscall,
    });
  }
}

/** The CPUs of an online node that has some, for pinning a thread to it. */
export function cpusOfNodeArgument(value: unknown, fn: string, arg: string): number[] {
  const node = nodeArgument(value, fn, arg);
  const found = onlineNode(numaNodes(), node, fn, arg);
  if (found.cpus.length === 0) throw invalidRange(fn, arg, 'a node with CPUs (this one has memory only)', node);
  return found.cpus;
}
