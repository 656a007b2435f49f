import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { getSystemErrorMap, getSystemErrorName } from 'node:util';
import type { NativeSystemError } from '../types/binding';
import type { Body, Both } from './sync-async';

/**
 * The codes a NumaError has (README, "One answer per condition"); a system
 * call can fail with others, which come through as the kernel gave them.
 */
export type NumaErrorCode =
  | 'ENODEV'
  | 'EACCES'
  | 'EPERM'
  | 'ENOTSUP'
  | 'ESRCH'
  | 'EFAULT'
  | 'ENOMEM'
  | 'EINVAL'
  | 'EIO'
  | 'EBUSY'
  | 'ENOENT'
  | (string & {});

/**
 * The one error class of numaplace for what the machine refuses: a failed
 * system call, or a condition checked before one (a node not online, a mode
 * this kernel lacks). Like Node's fs errors: `code` ('ENODEV', 'EPERM', …),
 * negative `errno`, and `syscall` when a system call was made and failed.
 */
export class NumaError extends Error {
  readonly code: NumaErrorCode;
  readonly errno: number;
  readonly syscall?: string;

  constructor(message: string, fields: { errno: number; syscall?: string }) {
    super(message);
    this.name = 'NumaError';
    this.errno = fields.errno;
    this.code = getSystemErrorName(fields.errno);
    if (fields.syscall !== undefined) this.syscall = fields.syscall;
  }
}

function maxMapCount(): string {
  try {
    return readFileSync('/proc/sys/vm/max_map_count', 'utf8').trim();
  } catch {
    return 'unknown';
  }
}

/**
 * What to do about a kernel error, keyed by "syscall code" (or "* code" for any
 * call): the one place every function's and the CLI's advice comes from.
 */
const HINTS: Record<string, string | (() => string)> = {
  // A policy boundary inside a mapping splits it; ENOMEM then usually means the split went past the limit.
  'mbind ENOMEM': () =>
    `each policy boundary splits a memory mapping, and this process may have reached the kernel's limit of mappings (vm.max_map_count, ${maxMapCount()})`,
  'migrate_pages EPERM': "moving the pages of another user's process needs CAP_SYS_NICE",
  'migrate_pages ESRCH': 'the process has exited, or the pid is wrong',
  'move_pages ESRCH': 'the process has exited, or the pid is wrong',
  'migrate_pages EINVAL': 'a node is not allowed or the node lists do not match',
  'set_mempolicy_home_node EINVAL': "the range needs a 'bind' or 'preferred-many' policy",
  'madvise EINVAL': 'prefaulting (MADV_POPULATE_WRITE) needs Linux 5.14+',
  'mbind EIO': "with strict, pages of this process stayed off the policy's nodes: they may be pinned for I/O, or the nodes full (err.pagesNotMoved counts them; placement() shows where they are)",
  'open EACCES': "another user's process: reading it needs ptrace access (the same user, or CAP_SYS_PTRACE)",
  // move_pages' own arrays are always readable: EFAULT is the caller's memory gone under the move (native/jobs.h).
  'move_pages EFAULT':
    "the view's memory was given away while its pages moved (its ArrayBuffer transferred, detached or resized): keep the buffer, unchanged, until the call returns",
  'move_pages EACCES': "a target node is outside this process's cpuset (topology().allowedMems lists the allowed ones)",
  '* EPERM': 'this needs CAP_SYS_NICE: run as root or grant it (setcap cap_sys_nice+ep $(which node)); in a container, also a seccomp profile that allows the call',
  'dlopen ENOTSUP':
    'numaplace runs on Linux only; on Linux, build the addon with `npm rebuild numaplace` (needs python3, make and a C++ compiler) or install a version with a prebuild for this platform',
};

/** The hint for a kernel error, if there is one; `syscall` undefined for a condition checked before any call. */
export function hintFor(syscall: string | undefined, code: string): string | undefined {
  const hint = (syscall === undefined ? undefined : HINTS[`${syscall} ${code}`]) ?? HINTS[`* ${code}`];
  return typeof hint === 'function' ? hint() : hint;
}

/**
 * The error of a condition found before any system call (lib/preconditions.ts):
 * "<fn>: <what> (<CODE>); <detail>", then the hint of the table above for the code, if any.
 */
export function conditionError(fn: string, code: keyof typeof constants.errno, what: string, detail?: string): NumaError {
  const hint = hintFor(undefined, code);
  const more = [detail, hint].filter((part) => part !== undefined).map((part) => `; ${part}`).join('');
  return new NumaError(`${fn}: ${what} (${code})${more}`, { errno: -constants.errno[code] });
}

function isNativeSystemError(error: unknown): error is NativeSystemError {
  return error instanceof Error && typeof (error as Partial<NativeSystemError>).errno === 'number';
}

/**
 * A native system error as a NumaError whose message names the public
 * function, what it was asked and what to do; any other error unchanged.
 * callNative() uses it; so does a hot path that cannot afford callNative's closures.
 */
export function translate(error: unknown, fn: string, context: string | (() => string)): unknown {
  if (!isNativeSystemError(error)) return error;
  const numaError = callError(fn, error.syscall, error.errno, context);
  numaError.cause = error;
  return numaError;
}

/**
 * The NumaError of system call `syscall` made for the public function `fn`
 * and failed with `errno`: "<fn>: <syscall> failed <context>: <CODE> (<description>)", then the hint.
 */
export function callError(fn: string, syscall: string, errno: number, context: string | (() => string)): NumaError {
  const code = getSystemErrorName(errno);
  const description = getSystemErrorMap().get(errno)?.[1] ?? 'unknown error';
  const hint = hintFor(syscall, code);
  const asked = typeof context === 'function' ? context() : context;
  return new NumaError(`${fn}: ${syscall} failed ${asked}: ${code} (${description})${hint ? `; ${hint}` : ''}`, { errno, syscall });
}

/**
 * Calls into the native addon on behalf of the public function `fn`: a
 * kernel error becomes a NumaError saying what `fn` was asked (`context`,
 * e.g. "for a view of 4096 bytes") and what to do about it.
 */
export function callNative<T>(fn: string, context: string | (() => string), call: () => T): T {
  try {
    return call();
  } catch (error) {
    throw translate(error, fn, context);
  }
}

/**
 * callNative() for the addon's Promise-returning calls. Not an async function: every await and
 * async frame is a microtask and a promise more on each call (benchmarks/suites/overhead.js).
 */
export function callNativeAsync<T>(fn: string, context: string | (() => string), call: () => Promise<T>): Promise<T> {
  let pending: Promise<T>;
  try {
    pending = call();
  } catch (error) {
    return Promise.reject(translate(error, fn, context));
  }
  return pending.catch((error: unknown) => {
    throw translate(error, fn, context);
  });
}

/** A call of an export pair, in the form the driver of the body picks (lib/sync-async.ts), with a kernel error told as the public function `fn`'s. */
export function* nativeCall<T>(fn: string, context: string, call: Both<T>): Body<T> {
  try {
    // Yielded here rather than through a helper: one generator less a call.
    return (yield call) as T;
  } catch (error) {
    throw translate(error, fn, context);
  }
}

/** A file the kernel wrote that does not hold what it should: EIO naming the function, the file and what it holds. */
export function malformedFile(fn: string, file: string, text: string, expected: string): NumaError {
  const shown = text.trim().length > 60 ? `${text.trim().slice(0, 60)}…` : text.trim();
  return new NumaError(`${fn}: ${file} holds ${JSON.stringify(shown)}, not ${expected} (EIO)`, { errno: -constants.errno.EIO, syscall: 'read' });
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'object') return value.constructor?.name ?? 'object';
  if (typeof value === 'string') return `string ${JSON.stringify(value)}`;
  return `${typeof value} ${String(value)}`;
}

export function invalidType(fn: string, arg: string, expected: string, value: unknown): TypeError {
  return new TypeError(`${fn}: expected ${expected} for \`${arg}\` but received ${describe(value)}`);
}

export function invalidRange(fn: string, arg: string, expected: string, value: unknown): RangeError {
  return new RangeError(`${fn}: expected ${expected} for \`${arg}\` but received ${describe(value)}`);
}
