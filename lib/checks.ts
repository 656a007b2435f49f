// Every argument check of the public API and of the command line: pure
// functions of the value given, which import nothing but the error helpers.
// Each returns the value in the form the rest of numaplace takes, or throws a
// TypeError (wrong type) or RangeError (wrong value) naming the function and
// the argument. Whether a node, CPU, device or process exists here is not
// their business: lib/preconditions.ts asks the machine.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { types } from 'node:util';
import { Worker } from 'node:worker_threads';
import { invalidRange, invalidType } from './errors';

/** Memory numaplace can place: any Buffer, TypedArray, DataView, ArrayBuffer or SharedArrayBuffer. */
export type MemoryView = ArrayBufferView | ArrayBuffer | SharedArrayBuffer;

// The kernel's own limits on ids: node ids below MAX_NUMNODES (1 << NODES_SHIFT,
// at most 10 bits), CPU ids below NR_CPUS (at most 8192). A list of more
// entries, or a range beyond them, is never read or allocated.
export const MAX_NODES = 1024;
export const MAX_CPUS = 8192;

const VIEW_KINDS = 'a Buffer, TypedArray, DataView, ArrayBuffer or SharedArrayBuffer';

/** The bytes of `value` as a Uint8Array, the form the native binding takes. */
export function byteView(value: unknown, fn: string, arg = 'view'): Uint8Array {
  // Already one (a Buffer too): another view would be an allocation on the
  // 1-page query's hot path (benchmarks/README.md). A detached buffer leaves
  // its views empty: those take the path below, which says so.
  if (value instanceof Uint8Array && value.byteLength !== 0) return value;
  let buffer: ArrayBufferLike;
  let byteOffset = 0;
  let byteLength: number | undefined;
  if (ArrayBuffer.isView(value)) {
    // Before its fields: a DataView over a detached buffer throws for them.
    if (isDetached(value.buffer)) throw detachedArgument(fn, arg);
    ({ buffer, byteOffset, byteLength } = value);
  } else if (types.isAnyArrayBuffer(value)) {
    if (isDetached(value)) throw detachedArgument(fn, arg);
    buffer = value;
  } else {
    throw invalidType(fn, arg, VIEW_KINDS, value);
  }
  return new Uint8Array(buffer, byteOffset, byteLength);
}

/** Whether the buffer was transferred or detached: a view over it can no longer be made. */
function isDetached(buffer: ArrayBufferLike): boolean {
  if (buffer.byteLength !== 0) return false;
  try {
    new Uint8Array(buffer);
    return false;
  } catch {
    return true;
  }
}

/** A TypeError with Node's code for a detached buffer (the addon's is the same): its memory is no longer the caller's. */
function detachedArgument(fn: string, arg: string): TypeError {
  const error = new TypeError(`${fn}: \`${arg}\` is backed by a detached ArrayBuffer (it was transferred or freed)`);
  return Object.assign(error, { code: 'ERR_INVALID_STATE' });
}

/** A view that has a first byte. */
export function nonEmptyView(view: Uint8Array, fn: string, arg = 'view'): Uint8Array {
  if (view.byteLength === 0) throw invalidRange(fn, arg, 'a view of at least one byte (it has no first byte)', view);
  return view;
}

/**
 * A view on whole pages, or consent to change the bytes its first and last
 * pages share with other data (`expandToPages`): a policy applies to pages.
 */
export function wholePagesArgument(fn: string, beyondView: { before: number; after: number }, expandToPages: boolean): void {
  const { before, after } = beyondView;
  if ((before !== 0 || after !== 0) && !expandToPages) {
    throw new RangeError(
      `${fn}: the view does not cover whole pages (${before} bytes before it and ${after} after it share its pages); ` +
        'a policy applies to whole pages: pass { expandToPages: true } to change those bytes too',
    );
  }
}

/** A node or CPU id: a non-negative 32-bit integer (whether it is online is a precondition). */
export function idArgument(value: unknown, fn: string, arg: string, what: 'node' | 'CPU'): number {
  const expected = `a non-negative integer ${what} id`;
  if (typeof value !== 'number') throw invalidType(fn, arg, expected, value);
  if (!Number.isInteger(value) || value < 0 || value > 0x7fffffff) throw invalidRange(fn, arg, expected, value);
  return value;
}

export function nodeArgument(value: unknown, fn: string, arg = 'node'): number {
  return idArgument(value, fn, arg, 'node');
}

/**
 * A non-empty array of ids, read index by index (a hole is an undefined
 * entry, not skipped) after its length is checked: a sparse array of 2^32 - 1
 * entries is refused before any is visited.
 */
function idListArgument(value: unknown, fn: string, arg: string, what: 'node' | 'CPU', max: number): number[] {
  if (!Array.isArray(value)) throw invalidType(fn, arg, `an array of ${what} ids`, value);
  if (value.length === 0 || value.length > max) throw invalidRange(fn, arg, `from 1 to ${max} ${what} ids`, `an array of ${value.length}`);
  const ids: number[] = [];
  for (let index = 0; index < value.length; index++) ids.push(idArgument(value[index], fn, `${arg}[${index}]`, what));
  return ids;
}

/** A non-empty array of node ids. */
export function nodeListArgument(value: unknown, fn: string, arg: string): number[] {
  return idListArgument(value, fn, arg, 'node', MAX_NODES);
}

/** A non-empty array of CPU ids. */
export function cpuListArgument(value: unknown, fn: string, arg: string): number[] {
  return idListArgument(value, fn, arg, 'CPU', MAX_CPUS);
}

/** A thread's CPUs: a non-empty array of CPU ids, or { node } for the CPUs of a node. */
export function pinTargetArgument(value: unknown, fn: string): { cpus: number[] } | { node: number } {
  if (Array.isArray(value)) return { cpus: cpuListArgument(value, fn, 'target') };
  if (value !== null && typeof value === 'object') {
    const { node } = optionsArgument(value as { node?: unknown }, fn, ['node'], 'target');
    return { node: nodeArgument(node, fn, 'target.node') };
  }
  throw invalidType(fn, 'target', 'an array of CPU ids or { node }', value);
}

/** One node per page of a span: an Int32Array of `pages` node ids. */
export function pageTargetsArgument(value: unknown, fn: string, pages: number): Int32Array {
  const targets = int32ArrayArgument(value, fn, 'targets', 'an Int32Array of node ids');
  if (targets.length !== pages) {
    throw new RangeError(`${fn}: expected \`targets\` to hold one node id per page spanned by the view (${pages}) but it has ${targets.length}`);
  }
  const negative = targets.findIndex((node) => node < 0);
  if (negative >= 0) throw invalidRange(fn, `targets[${negative}]`, 'a non-negative integer node id', targets[negative]);
  return targets;
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

/** A command to run: a name found in PATH or a path. */
export function commandArgument(value: unknown, fn: string): string {
  if (typeof value !== 'string' || value === '') throw invalidType(fn, 'command', 'a command name or path', value);
  return value;
}

/** A command's arguments: an array of strings, none when undefined. */
export function stringListArgument(value: unknown, fn: string, arg: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) throw invalidType(fn, arg, 'an array of strings', value);
  return value;
}

/** Environment variables: an object, or undefined. */
export function environmentArgument(value: unknown, fn: string, arg: string): NodeJS.ProcessEnv | undefined {
  if (value !== undefined && (value === null || typeof value !== 'object')) throw invalidType(fn, arg, 'an object of environment variables', value);
  return value as NodeJS.ProcessEnv | undefined;
}

/** Linux's PID_MAX_LIMIT: pid_max is at most this, so every process id is below it. */
export const PID_MAX_LIMIT = 4194304;

export function pidArgument(value: unknown, fn: string, arg = 'pid'): number {
  if (typeof value !== 'number') throw invalidType(fn, arg, 'a process id', value);
  if (!Number.isInteger(value) || value < 0 || value >= PID_MAX_LIMIT) throw invalidRange(fn, arg, 'a process id (0 = this process)', value);
  return value;
}

/** What numaStatDelta() subtracts of a numaStat() reading. */
interface Reading {
  readAt: number;
  nodes: Map<number, object>;
  vmstat: object;
  process?: { pid: number };
}

function isReading(value: unknown): value is Reading {
  if (value === null || typeof value !== 'object') return false;
  const { readAt, nodes, vmstat } = value as Partial<Reading>;
  return typeof readAt === 'number' && Number.isFinite(readAt) && nodes instanceof Map && typeof vmstat === 'object' && vmstat !== null;
}

/** Two numaStat() readings to subtract: taken in this order, of the same process where both have one. */
export function readingPairArgument(before: unknown, after: unknown, fn: string): void {
  if (!isReading(before)) throw invalidType(fn, 'before', 'a reading of numaStat()', before);
  if (!isReading(after)) throw invalidType(fn, 'after', 'a reading of numaStat()', after);
  if (after.readAt < before.readAt) {
    throw new RangeError(`${fn}: \`after\` was read before \`before\` (readAt ${after.readAt} < ${before.readAt}); pass the earlier reading first`);
  }
  if (before.process && after.process && before.process.pid !== after.process.pid) {
    throw new RangeError(`${fn}: the readings are of different processes (pid ${before.process.pid} and ${after.process.pid})`);
  }
}

/** Node pairs of a process migration: as many `toNodes` as `fromNodes`, each source once. */
export function nodePairsArgument(fromNodes: unknown, toNodes: unknown, fn: string): { from: number[]; to: number[] } {
  const from = nodeListArgument(fromNodes, fn, 'fromNodes');
  const to = nodeListArgument(toNodes, fn, 'toNodes');
  if (from.length !== to.length) {
    throw new RangeError(`${fn}: \`fromNodes\` and \`toNodes\` are pairs (fromNodes[i] moves to toNodes[i]) but have ${from.length} and ${to.length} nodes`);
  }
  const twice = from.find((node, index) => from.indexOf(node) !== index);
  if (twice !== undefined) throw new RangeError(`${fn}: node ${twice} is in \`fromNodes\` twice; its pages can move to one node only`);
  return { from, to };
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
  if (isDetached(value.buffer)) throw detachedArgument(fn, arg);
  return value;
}

/** An integer, such as one entry of a page status array. */
export function integerArgument(value: unknown, fn: string, arg: string, expected: string): number {
  if (!Number.isInteger(value)) throw invalidType(fn, arg, expected, value);
  return value as number;
}

export function stringArgument(value: unknown, fn: string, arg: string, expected: string): string {
  if (typeof value !== 'string') throw invalidType(fn, arg, expected, value);
  return value;
}

/** How many single-character edits turn `a` into `b` (Levenshtein). */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current.push(Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1)));
    }
    previous = current;
  }
  return previous[b.length];
}

/**
 * The known key nearest to `key`, if it is near enough to be what was meant: a
 * part of it, or a few typos (one per three letters). A key longer than a name
 * it holds is judged by its extra letters, so that topolgy is topology, not top.
 */
export function nearestKey(key: string, known: readonly string[]): string | undefined {
  const typed = key.toLowerCase();
  let best: { name: string; distance: number } | undefined;
  for (const name of known) {
    const lower = name.toLowerCase();
    const distance = lower.includes(typed) ? 0.5 : editDistance(typed, lower);
    if (!best || distance < best.distance) best = { name, distance };
  }
  return best && best.distance <= Math.max(2, Math.floor(best.name.length / 3)) ? best.name : undefined;
}

/**
 * An options object or undefined; anything else is a TypeError. A key that
 * is not one of `keys` is a TypeError naming it and the nearest valid key:
 * options change what is reported, so a misspelt one must not pass for a default.
 */
export function optionsArgument<T extends object>(value: T | undefined, fn: string, keys: readonly string[], arg = 'options'): Partial<T> {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object') throw invalidType(fn, arg, 'an options object', value);
  for (const key of Object.keys(value)) {
    if (keys.includes(key)) continue;
    const nearest = nearestKey(key, keys);
    throw new TypeError(
      `${fn}: unknown option \`${arg}.${key}\`${nearest ? ` (did you mean \`${nearest}\`?)` : ''}; ` +
        (keys.length > 0 ? `it takes ${keys.map((name) => `\`${name}\``).join(', ')}` : 'it takes none'),
    );
  }
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

/** A positive finite number option (a rate, a duration); undefined when undefined. */
export function positiveNumberOption(value: unknown, fn: string, name: string): number | undefined {
  if (value === undefined) return undefined;
  const expected = 'a positive number';
  if (typeof value !== 'number') throw invalidType(fn, `options.${name}`, expected, value);
  if (!Number.isFinite(value) || value <= 0) throw invalidRange(fn, `options.${name}`, expected, value);
  return value;
}

/** How gently a migration moves, as given. */
export interface BudgetFields {
  bytesPerSecond?: number;
  maxCallMs?: number;
}

/**
 * A migration's budget (`bytesPerSecond`, `maxCallMs`), undefined without
 * either. It sizes every call itself, one at a time: `chunkPages` beside it,
 * or a `concurrency` above 1, is a RangeError.
 */
export function budgetOptions(
  fn: string,
  given: { bytesPerSecond?: unknown; maxCallMs?: unknown; chunkPages?: unknown; concurrency?: unknown },
): BudgetFields | undefined {
  const bytesPerSecond = positiveNumberOption(given.bytesPerSecond, fn, 'bytesPerSecond');
  const maxCallMs = positiveNumberOption(given.maxCallMs, fn, 'maxCallMs');
  if (bytesPerSecond === undefined && maxCallMs === undefined) return undefined;
  if (given.chunkPages !== undefined) {
    throw new RangeError(`${fn}: \`options.chunkPages\` does not go with bytesPerSecond or maxCallMs, which size each move_pages call themselves`);
  }
  if (given.concurrency !== undefined && given.concurrency !== 1) {
    throw new RangeError(`${fn}: a migration with bytesPerSecond or maxCallMs makes one move_pages call at a time: leave out \`options.concurrency\` or give 1`);
  }
  return { ...(bytesPerSecond !== undefined && { bytesPerSecond }), ...(maxCallMs !== undefined && { maxCallMs }) };
}

/** An optional integer option from 0 to `max` (a count that may be none, or a delay); `fallback` when undefined. */
export function boundedIntegerOption(value: unknown, fn: string, name: string, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  const expected = `an integer from 0 to ${max}`;
  if (typeof value !== 'number') throw invalidType(fn, `options.${name}`, expected, value);
  if (!Number.isInteger(value) || value < 0 || value > max) throw invalidRange(fn, `options.${name}`, expected, value);
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

/** One of `choices`, or `fallback` when undefined. */
export function choiceOption<T extends string>(value: unknown, fn: string, name: string, choices: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!choices.includes(value as T)) throw invalidRange(fn, `options.${name}`, `one of ${choices.map((choice) => `'${choice}'`).join(', ')}`, value);
  return value as T;
}

export function functionOption<T extends (...args: never[]) => unknown>(value: unknown, fn: string, name: string): T | undefined {
  if (value !== undefined && typeof value !== 'function') throw invalidType(fn, `options.${name}`, 'a function', value);
  return value as T | undefined;
}

export function signalOption(value: unknown, fn: string): AbortSignal | undefined {
  if (value !== undefined && !(value instanceof AbortSignal)) throw invalidType(fn, 'options.signal', 'an AbortSignal', value);
  return value;
}

/** A function that has no options but was given some. */
export function noConcurrency(value: unknown, fn: string): void {
  if (value !== undefined) throw new TypeError(`${fn}: runs one chunk at a time; \`options.concurrency\` is for migrateBuffer`);
}

/**
 * Parses the kernel's list format ("0-3,8,10-11" → [0,1,2,3,8,10,11]) of ids
 * up to `max`: a range is expanded only once its ends are checked.
 */
export function idListText(text: unknown, fn: string, arg: string, max: number): number[] {
  const expected = `a list of ids from 0 to ${max} such as 0-3,8`;
  if (typeof text !== 'string') throw invalidType(fn, arg, expected, text);
  if (!/^\s*(\d+(-\d+)?(,\d+(-\d+)?)*)?\s*$/.test(text)) throw invalidRange(fn, arg, expected, text);
  const ids: number[] = [];
  for (const part of text.trim().split(',')) {
    if (part === '') continue;
    const [first, last = first] = part.split('-').map(Number);
    if (last > max) throw invalidRange(fn, arg, expected, text);
    if (last < first) throw invalidRange(fn, arg, `${expected} (the range ${part} runs backwards)`, text);
    for (let id = first; id <= last; id++) ids.push(id);
  }
  return ids;
}

/** A whole number typed on the command line, from `min` to `max`. */
export function integerText(text: unknown, fn: string, arg: string, min: number, max: number, what = 'a whole number'): number {
  const expected = `${what} from ${min} to ${max}`;
  if (typeof text !== 'string') throw invalidType(fn, arg, expected, text);
  const value = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) throw invalidRange(fn, arg, expected, text);
  return value;
}

/** A process id typed on the command line. */
export function pidText(text: unknown, fn: string): number {
  return integerText(text, fn, 'pid', 1, PID_MAX_LIMIT - 1, 'a process id');
}

/** A process typed on the command line: a process id, or a word its command line holds (numastat -p's form). */
export function processText(text: string, fn: string): { pid: number } | { name: string } {
  return /^\d+$/.test(text) ? { pid: pidText(text, fn) } : { name: text };
}

/** A decimal number typed on the command line (2, 0.5, .5), from `min` to `max`. */
export function numberText(text: unknown, fn: string, arg: string, min: number, max: number, what: string): number {
  const expected = `${what} from ${min} to ${max}`;
  if (typeof text !== 'string') throw invalidType(fn, arg, expected, text);
  const value = /^(\d+(\.\d*)?|\.\d+)$/.test(text) ? Number(text) : NaN;
  if (!(value >= min && value <= max)) throw invalidRange(fn, arg, expected, text);
  return value;
}

/** An id list typed on the command line (at least one id, up to `max`), or `all`: which ids those are, the caller knows. */
export function idListOrAllText(text: unknown, fn: string, arg: string, max: number): number[] | 'all' {
  if (text === 'all') return 'all';
  const ids = idListText(text, fn, arg, max);
  if (ids.length === 0) throw invalidRange(fn, arg, `at least one id from 0 to ${max}, or all`, text);
  return ids;
}

/**
 * A word typed on the command line that must be one of `known` (an option or a
 * command): a TypeError naming what it takes and the nearest, if any.
 */
export function knownWordText(typed: string, known: readonly string[], fn: string, what: string): string {
  if (known.includes(typed)) return typed;
  throw unknownWordError(typed, known, fn, what);
}

/** The error for a word that is none of `known`, with the nearest if any. */
export function unknownWordError(typed: string, known: readonly string[], fn: string, what: string): TypeError {
  // A single letter is near every other: no guess for a short option.
  const nearest = typed.length > 2 ? nearestKey(typed, known) : undefined;
  return new TypeError(`${fn}: unknown ${what} ${typed}${nearest ? ` (did you mean ${nearest}?)` : ''}; it takes ${known.join(', ') || 'none'}`);
}

/** The value typed for an option that takes one: a RangeError when the command line ends before it. */
export function optionValueText(text: string | undefined, fn: string, option: string, value: string): string {
  if (text === undefined) throw new RangeError(`${fn}: ${option} needs a value: ${option} <${value}>`);
  return text;
}

/** An option that takes no value, typed as --option=value: a RangeError. */
export function flagText(text: string | undefined, fn: string, option: string): true {
  if (text !== undefined) throw new RangeError(`${fn}: ${option} takes no value (received ${JSON.stringify(text)})`);
  return true;
}

/** Operands (the words that are not options): from `min` to `max` of them, as `usage` says. */
export function operandsText(operands: readonly string[], fn: string, min: number, max: number, usage: string): string[] {
  if (operands.length < min || operands.length > max) {
    const received = operands.length === 0 ? 'none' : operands.map((operand) => JSON.stringify(operand)).join(' ');
    throw new RangeError(`${fn}: expected ${usage} but received ${received}`);
  }
  return [...operands];
}

/** Of the options `given`, at most one of `options`. */
export function exclusiveOptions(given: readonly string[], options: readonly string[], fn: string): void {
  const among = options.filter((option) => given.includes(option));
  if (among.length > 1) throw new RangeError(`${fn}: ${among.join(' and ')} do not go together: give one of ${options.join(', ')}`);
}

/** Of the options `given`, `option` only with one of `needs`. */
export function dependentOption(given: readonly string[], option: string, needs: readonly string[], fn: string): void {
  if (given.includes(option) && !needs.some((other) => given.includes(other))) throw new RangeError(`${fn}: ${option} goes with ${needs.join(' or ')}`);
}

/** Of the options `given`, at least one of `options`, which say `what`. */
export function requiredOption(given: readonly string[], options: readonly string[], fn: string, what: string): void {
  if (!options.some((option) => given.includes(option))) throw new RangeError(`${fn}: ${what}: give ${options.join(', ')}`);
}

/**
 * migratepages' two forms: <pid> with --from and --to (`options`, read
 * already), or <pid> <from-nodes> <to-nodes>, whose lists are read here.
 */
export function migrationText(
  operands: readonly string[],
  options: { from?: number[] | 'all'; to?: number[] | 'all' },
  fn: string,
): { pid: number; from: number[] | 'all'; to: number[] | 'all' } {
  const usage = '<pid> --from <nodes> --to <nodes>, or <pid> <from-nodes> <to-nodes>';
  const typed = operandsText(operands, fn, 1, 3, usage);
  const pid = pidText(typed[0], fn);
  if (typed.length === 3) {
    if (options.from !== undefined || options.to !== undefined) throw new RangeError(`${fn}: give the nodes either as --from/--to or after the pid, not both`);
    return { pid, from: idListOrAllText(typed[1], fn, '<from-nodes>', MAX_NODES - 1), to: idListOrAllText(typed[2], fn, '<to-nodes>', MAX_NODES - 1) };
  }
  if (typed.length !== 1 || options.from === undefined || options.to === undefined) throw new RangeError(`${fn}: expected ${usage}`);
  return { pid, from: options.from, to: options.to };
}

/**
 * migratepages' node lists, with numaplace's one shortcut: a single --to node
 * takes the pages of every --from node (but itself). Pairs otherwise.
 */
export function nodePairsText(from: number[], to: number[], fn: string): { from: number[]; to: number[] } {
  const sources = to.length === 1 && from.length > 1 ? from.filter((node) => node !== to[0]) : from;
  const targets = to.length === 1 ? sources.map(() => to[0]) : to;
  if (sources.length !== targets.length) throw new RangeError(`${fn}: --from and --to need the same number of nodes (or a single --to node)`);
  return { from: sources, to: targets };
}

/** bestNode's `near`: exactly one of { cpu }, { node } or { device }, checked for shape. */
export type Near = { cpu: number } | { node: number } | { device: string };

export function nearArgument(near: unknown, fn: string): Near {
  if (near === null || typeof near !== 'object') throw invalidType(fn, 'options.near', '{ cpu }, { node } or { device }', near);
  const keys = Object.keys(near);
  if (keys.length !== 1 || !['cpu', 'node', 'device'].includes(keys[0])) {
    throw invalidRange(fn, 'options.near', 'exactly one of { cpu }, { node } or { device }', near);
  }
  const given = near as Record<string, unknown>;
  if ('cpu' in given) return { cpu: idArgument(given.cpu, fn, 'options.near.cpu', 'CPU') };
  if ('node' in given) return { node: nodeArgument(given.node, fn, 'options.near.node') };
  return { device: stringArgument(given.device, fn, 'options.near.device', "a PCI address such as '0000:03:00.0'") };
}

/** keepNear's `target`: exactly one of { node }, { thread: true } or { worker }, checked for shape. */
export type KeepTarget = { node: number } | { thread: true } | { worker: Worker };

export function keepTargetArgument(value: unknown, fn: string): KeepTarget {
  const shapes = '{ node }, { thread: true } or { worker }';
  if (value === null || typeof value !== 'object') throw invalidType(fn, 'target', shapes, value);
  const given = optionsArgument(value as Record<string, unknown>, fn, ['node', 'thread', 'worker'], 'target');
  if (Object.keys(given).length !== 1) throw invalidRange(fn, 'target', `exactly one of ${shapes}`, value);
  if ('node' in given) return { node: nodeArgument(given.node, fn, 'target.node') };
  if ('thread' in given) {
    if (given.thread !== true) throw invalidRange(fn, 'target.thread', 'true (the node the calling thread runs near)', given.thread);
    return { thread: true };
  }
  if (!(given.worker instanceof Worker)) throw invalidType(fn, 'target.worker', 'a Worker started with startWorkerOnNode', given.worker);
  return { worker: given.worker };
}

/**
 * The node startWorkerOnNode() recorded for a worker (`recorded`): of a
 * worker started otherwise numaplace knows no node, and guessing one from
 * where it happens to run would move memory after the scheduler.
 */
export function startedWorkerNode(recorded: number | undefined, fn: string): number {
  if (recorded === undefined) {
    throw new RangeError(`${fn}: \`target.worker\` was not started with startWorkerOnNode, so its node is not known: give { node } instead`);
  }
  return recorded;
}

/** clusterForkOnNode() in a process that is not the cluster primary: a TypeError with Node's code for a call in the wrong state. */
export function clusterPrimary(isPrimary: boolean, fn: string): void {
  if (isPrimary) return;
  const error = new TypeError(`${fn}: call it in the cluster primary (cluster.isPrimary is false here): workers are forked by the primary only`);
  throw Object.assign(error, { code: 'ERR_INVALID_STATE' });
}

/** A handle's method called after the handle stopped: a TypeError with Node's code for a call in the wrong state. */
export function runningHandle(stopped: boolean, fn: string, method: string): void {
  if (!stopped) return;
  const error = new TypeError(`${fn}: ${method} on a handle that has stopped (stop(), its signal or a failed check); start another with ${fn}()`);
  throw Object.assign(error, { code: 'ERR_INVALID_STATE' });
}

/** A policy as the caller gives it, checked for shape: which mode, which nodes, which mode flags. */
export interface PolicyFields<Mode extends string> {
  mode: Mode;
  nodes: number[];
  staticNodes: boolean;
  relativeNodes: boolean;
}

/**
 * A policy spec { mode, nodes?, staticNodes?, relativeNodes? }: a known mode,
 * nodes as the mode needs them (none for 'default' and 'local', one for
 * 'preferred', at least one otherwise). `keys`: every key the caller's object may have.
 */
export function policyArgument<Mode extends string>(
  spec: unknown,
  fn: string,
  arg: string,
  modes: readonly Mode[],
  keys: readonly string[],
): PolicyFields<Mode> {
  if (spec === null || typeof spec !== 'object') throw invalidType(fn, arg, 'a policy object { mode, nodes }', spec);
  const { mode, nodes, staticNodes, relativeNodes } = optionsArgument(spec as Record<string, unknown>, fn, keys, arg);
  if (typeof mode !== 'string' || !modes.includes(mode as Mode)) throw invalidType(fn, `${arg}.mode`, `one of ${modes.join(', ')}`, mode);
  const wantsNodes = mode !== 'default' && mode !== 'local';
  const given = nodes === undefined || (Array.isArray(nodes) && nodes.length === 0) ? [] : nodeListArgument(nodes, fn, `${arg}.nodes`);
  if (!wantsNodes && given.length > 0) throw invalidRange(fn, `${arg}.nodes`, `no nodes for mode '${mode}'`, nodes);
  if (wantsNodes && given.length === 0) throw invalidRange(fn, `${arg}.nodes`, `at least one node for mode '${mode}'`, nodes);
  if (mode === 'preferred' && given.length !== 1) {
    throw invalidRange(fn, `${arg}.nodes`, "exactly one node for mode 'preferred' (use 'preferred-many')", nodes);
  }
  return {
    mode: mode as Mode,
    nodes: given,
    staticNodes: booleanOption(staticNodes, fn, 'staticNodes'),
    relativeNodes: booleanOption(relativeNodes, fn, 'relativeNodes'),
  };
}

/** The largest weight of a weighted interleave: the kernel keeps each in a byte, 0 meaning unset. */
export const MAX_WEIGHT = 255;

/** One weight: a whole number from 1 to 255. */
function weightArgument(value: unknown, fn: string, arg: string): number {
  const expected = `a whole number from 1 to ${MAX_WEIGHT}`;
  if (typeof value !== 'number') throw invalidType(fn, arg, expected, value);
  if (!Number.isInteger(value) || value < 1 || value > MAX_WEIGHT) throw invalidRange(fn, arg, expected, value);
  return value;
}

/**
 * Interleave weights by node id, `{ 0: 3, 1: 1 }`: a plain object of at least
 * one node id, each with a weight from 1 to 255. Anything else with keys (an
 * array, a Buffer, a Map) is refused rather than read as weights by index.
 * Returns [node, weight] pairs by node id.
 */
export function weightsArgument(value: unknown, fn: string, arg = 'weights'): [number, number][] {
  const expected = 'an object of weights by node id such as { 0: 3, 1: 1 }';
  const prototype = value !== null && typeof value === 'object' ? Object.getPrototypeOf(value) : undefined;
  if (prototype !== Object.prototype && prototype !== null) throw invalidType(fn, arg, expected, value);
  const given = value as Record<string, unknown>;
  const keys = Object.keys(given);
  if (keys.length === 0 || keys.length > MAX_NODES) throw invalidRange(fn, arg, `${expected}, of 1 to ${MAX_NODES} nodes`, `an object of ${keys.length}`);
  return keys.map((key): [number, number] => {
    if (!/^(0|[1-9]\d{0,3})$/.test(key) || Number(key) >= MAX_NODES) throw invalidRange(fn, `${arg}`, `node ids from 0 to ${MAX_NODES - 1} as its keys`, key);
    return [Number(key), weightArgument(given[key], fn, `${arg}[${key}]`)];
  });
}

/** setInterleaveWeights' argument: weights by node id, or 'auto'. */
export function weightsOrAutoArgument(value: unknown, fn: string): [number, number][] | 'auto' {
  return value === 'auto' ? value : weightsArgument(value, fn);
}

/**
 * bindBuffer's `weights`, beside the policy they go with: mode
 * 'weighted-interleave', one weight for each of its nodes and no other, node
 * ids as given (not relative, not static: a weight belongs to a node).
 */
export function policyWeightsArgument(value: unknown, policy: PolicyFields<string>, fn: string, arg: string): [number, number][] | undefined {
  if (value === undefined) return undefined;
  if (policy.mode !== 'weighted-interleave') throw invalidRange(fn, `${arg}.weights`, "no weights: they are for mode 'weighted-interleave'", value);
  if (policy.staticNodes || policy.relativeNodes) {
    throw new RangeError(`${fn}: \`${arg}.weights\` are per node id and cannot follow a cpuset change: leave out staticNodes and relativeNodes`);
  }
  const weights = weightsArgument(value, fn, `${arg}.weights`);
  const nodes = [...new Set(policy.nodes)].sort((a, b) => a - b);
  if (weights.length !== nodes.length || weights.some(([node], index) => node !== nodes[index])) {
    const keys = weights.map(([node]) => node).join(', ');
    throw new RangeError(`${fn}: \`${arg}.weights\` must give a weight to each of \`${arg}.nodes\` (${nodes.join(', ')}) and no other node, but names ${keys}`);
  }
  return weights;
}
