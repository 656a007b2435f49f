import { types } from 'node:util';
import { invalidRange, invalidType } from './errors';

/** Memory numaplace can place: any Buffer, TypedArray, DataView, ArrayBuffer or SharedArrayBuffer. */
export type MemoryView = ArrayBufferView | ArrayBuffer | SharedArrayBuffer;

const VIEW_KINDS = 'a Buffer, TypedArray, DataView, ArrayBuffer or SharedArrayBuffer';

/** The bytes of `value` as a Uint8Array, the form the native binding takes. */
export function byteView(value: unknown, fn: string, arg = 'view'): Uint8Array {
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

/** A node or CPU id: a non-negative 32-bit integer (whether it exists is the kernel's answer). */
export function idArgument(value: unknown, fn: string, arg: string, what: 'node' | 'CPU'): number {
  const expected = `a non-negative integer ${what} id`;
  if (typeof value !== 'number') throw invalidType(fn, arg, expected, value);
  if (!Number.isInteger(value) || value < 0 || value > 0x7fffffff) throw invalidRange(fn, arg, expected, value);
  return value;
}

export function nodeArgument(value: unknown, fn: string, arg = 'node'): number {
  return idArgument(value, fn, arg, 'node');
}

/** An options object or undefined; anything else is a TypeError. */
export function optionsArgument<T extends object>(value: T | undefined, fn: string, arg = 'options'): Partial<T> {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object') throw invalidType(fn, arg, 'an options object', value);
  return value;
}

export function booleanOption(value: unknown, fn: string, name: string): boolean {
  if (value === undefined) return false;
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
