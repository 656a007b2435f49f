import { getSystemErrorName } from 'node:util';
import type { NativeSystemError } from '../types/binding';

/**
 * The one error class of numaplace for failures reported by the kernel.
 * Like Node's fs errors: `code` ('ENODEV', 'EPERM', …), negative `errno`, `syscall`.
 */
export class NumaError extends Error {
  readonly code: string;
  readonly errno: number;
  readonly syscall: string;

  constructor(message: string, fields: { errno: number; syscall: string }) {
    super(message);
    this.name = 'NumaError';
    this.errno = fields.errno;
    this.code = getSystemErrorName(fields.errno);
    this.syscall = fields.syscall;
  }
}

function isNativeSystemError(error: unknown): error is NativeSystemError {
  return error instanceof Error && typeof (error as Partial<NativeSystemError>).errno === 'number';
}

/**
 * Rethrows a native system error as a NumaError whose message names the
 * public function and what it was asked; any other error passes unchanged.
 */
export function rethrowAsNumaError(error: unknown, fn: string, context: string, detail = ''): never {
  if (!isNativeSystemError(error)) throw error;
  const code = getSystemErrorName(error.errno);
  const numaError = new NumaError(
    `${fn}: ${error.syscall} failed ${context}: ${code} (${error.message.replace(/^[^:]*: /, '')})${detail}`,
    error,
  );
  throw numaError;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
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
