import { execSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { constants } from 'node:os';
import t from 'tap';
import type { NativeBinding, NativeConstants } from '../types/binding';
import { native } from '../lib/binding';
import { MAX_DEFAULT_CHUNK_PAGES } from '../lib/engine';
import * as mempolicy from '../lib/mempolicy';
import { MAX_RETRIES, MAX_RETRY_DELAY_MS } from '../lib/migrate';
import { PAGE_HIDDEN, PAGE_NOT_PRESENT } from '../lib/pages';
import { unusedPid } from './helpers';

// tsc checks this object has exactly the members of NativeBinding; the test
// checks the addon exports exactly these names, in this order (native/binding.cc
// registers them in the order of types/binding.d.ts).
const declared: Record<keyof NativeBinding, true> = {
  pageSize: true,
  hugePageSize: true,
  constants: true,
  pageQuery: true,
  spanOf: true,
  prefault: true,
  migrate: true,
  migrateAsync: true,
  movePages: true,
  movePagesAsync: true,
  bindRange: true,
  rangePolicy: true,
  nodeOfAddress: true,
  threadPolicy: true,
  allowedNodes: true,
  setThreadPolicy: true,
  setHomeNode: true,
  migrateProcess: true,
  migrateProcessAsync: true,
  moveProcessRange: true,
  moveProcessRangeAsync: true,
  allocate: true,
  threadAffinity: true,
  setThreadAffinity: true,
  currentCpu: true,
  exec: true,
};

t.test('native exports match types/binding.d.ts, in its order', async (t) => {
  t.same(Object.keys(native), Object.keys(declared));
  t.equal(native.pageSize, Number(execSync('getconf PAGESIZE').toString()));
  const thpSize = '/sys/kernel/mm/transparent_hugepage/hpage_pmd_size';
  t.equal(native.hugePageSize, existsSync(thpSize) ? Number(readFileSync(thpSize, 'utf8')) : 0);
});

t.test("every TypeScript copy of a kernel or core number is the addon's, from the headers", async (t) => {
  // Each of the addon's constants, by the copy lib/ keeps of it; tsc checks none is left out.
  const modes = mempolicy.POLICY_MODES;
  const copies: Record<keyof NativeConstants, number> = {
    MPOL_DEFAULT: modes.default,
    MPOL_PREFERRED: modes.preferred,
    MPOL_BIND: modes.bind,
    MPOL_INTERLEAVE: modes.interleave,
    MPOL_LOCAL: modes.local,
    MPOL_PREFERRED_MANY: modes['preferred-many'],
    MPOL_WEIGHTED_INTERLEAVE: modes['weighted-interleave'],
    MPOL_F_STATIC_NODES: mempolicy.MPOL_F_STATIC_NODES,
    MPOL_F_RELATIVE_NODES: mempolicy.MPOL_F_RELATIVE_NODES,
    MPOL_F_NUMA_BALANCING: mempolicy.MPOL_F_NUMA_BALANCING,
    MPOL_MF_STRICT: mempolicy.MPOL_MF_STRICT,
    MPOL_MF_MOVE: mempolicy.MPOL_MF_MOVE,
    MPOL_MF_MOVE_ALL: mempolicy.MPOL_MF_MOVE_ALL,
    PAGE_NOT_PRESENT,
    PAGE_HIDDEN,
    CHUNK_PAGES: MAX_DEFAULT_CHUNK_PAGES,
    MAX_RETRIES,
    MAX_RETRY_DELAY_MS,
  };
  t.same({ ...native.constants }, copies);
  t.same(Object.keys(native.constants), Object.keys(copies), 'no constant the types do not declare, in their order');
  t.ok(Object.isFrozen(native.constants), 'frozen, as os.constants is');
});

type Exports = Exclude<keyof NativeBinding, 'pageSize' | 'hugePageSize' | 'constants'>;
const bytes = new Uint8Array(16);
const policy = { mode: 0, flags: 0, nodes: [] };
const range: [string, unknown][] = [['pid', 0], ['start', 0], ['pages', 1], ['mappingEnd', 4096], ['pageBytes', 4096], ['nodeTargets', new Int32Array([0])], ['options', {}]];

// Arguments each export accepts, by name. Every test below replaces one of them
// with a wrong one, so no call here reaches the kernel.
const valid: Record<Exports, [string, unknown][]> = {
  pageQuery: [['scratch', new Int32Array(4)], ['counts', new Float64Array(2)]],
  spanOf: [['view', bytes]],
  prefault: [['view', bytes]],
  migrate: [['view', bytes], ['node', 0], ['options', {}]],
  migrateAsync: [['view', bytes], ['node', 0], ['options', {}]],
  movePages: [['view', bytes], ['targets', new Int32Array(native.spanOf(bytes).pages)], ['options', {}]],
  movePagesAsync: [['view', bytes], ['targets', new Int32Array(native.spanOf(bytes).pages)], ['options', {}]],
  bindRange: [['view', bytes], ['policy', policy], ['moveFlags', 0]],
  rangePolicy: [['view', bytes]],
  nodeOfAddress: [['view', bytes]],
  threadPolicy: [],
  allowedNodes: [],
  setThreadPolicy: [['policy', policy]],
  setHomeNode: [['view', bytes], ['node', 0]],
  migrateProcess: [['pid', 0], ['fromNodes', [0]], ['toNodes', [0]]],
  migrateProcessAsync: [['pid', 0], ['fromNodes', [0]], ['toNodes', [0]]],
  moveProcessRange: range,
  moveProcessRangeAsync: range,
  allocate: [['bytes', 4096], ['policy', policy], ['hugePages', 'system'], ['asArrayBuffer', false]],
  threadAffinity: [],
  setThreadAffinity: [['cpus', [0]]],
  currentCpu: [],
  // A file that does not exist: if a check were missing, the exec would fail instead of replacing the test.
  exec: [['file', '/nonexistent/numaplace-exec-test'], ['argv', ['x']], ['parent', process.ppid]],
};

// A wrong value of the right type for the arguments that have a range.
const outOfRange: Record<string, unknown> = {
  targets: new Int32Array(native.spanOf(bytes).pages + 3),
  options: { retries: 1001 },
  moveFlags: 8,
  node: 0.5,
  pid: -1,
  fromNodes: [1024],
  toNodes: [0.5],
  bytes: 0,
  hugePages: 'always',
  cpus: [-1],
  scratch: undefined,
  counts: new Float64Array(1),
  policy: { mode: 0, flags: 1, nodes: [] },
  file: '',
  argv: ['a\0b'],
  parent: 0,
  start: 2 ** 53,
  mappingEnd: -1,
  pages: 0,
  pageBytes: 0.5,
  nodeTargets: new Int32Array([-2]),
};

function call(name: Exports, args: unknown[]): unknown {
  return (native[name] as (...values: unknown[]) => unknown)(...args);
}

t.test('every native export names itself and the argument it rejects', async (t) => {
  for (const [name, args] of Object.entries(valid) as [Exports, [string, unknown][]][]) {
    args.forEach(([argument], index) => {
      const values = args.map(([, value]) => value);
      values[index] = Symbol('wrong');
      t.throws(() => call(name, values), { name: 'TypeError', message: new RegExp(`^${name}: ${argument} must be `) }, `${name}: ${argument} of the wrong type`);
      if (!(argument in outOfRange) || outOfRange[argument] === undefined) return;
      values[index] = outOfRange[argument];
      t.throws(() => call(name, values), { name: 'RangeError', message: new RegExp(`^${name}: ${argument}(\\.\\w+|\\[\\])? must be `) }, `${name}: ${argument} out of range`);
    });
  }
});

/** A typed array like `value` whose buffer was transferred away: its memory is no longer the caller's. */
function detachedLike(value: ArrayBufferView): ArrayBufferView {
  const Kind = value.constructor as new (length: number) => ArrayBufferView;
  const array = new Kind(value.byteLength / (value as Int32Array).BYTES_PER_ELEMENT);
  structuredClone(array.buffer, { transfer: [array.buffer as ArrayBuffer] });
  return array;
}

// One test per export that takes memory: each of its typed arrays detached in turn before the call.
for (const [name, args] of Object.entries(valid) as [Exports, [string, unknown][]][]) {
  if (!args.some(([, value]) => ArrayBuffer.isView(value))) continue;
  t.test(`${name}: an array whose buffer was detached before the call is a coded TypeError`, async (t) => {
    args.forEach(([argument, value], index) => {
      if (!ArrayBuffer.isView(value)) return;
      const values = args.map(([, given]) => given);
      values[index] = detachedLike(value);
      const message = new RegExp(`^${name}: ${argument} must be an? \\w+ over a live ArrayBuffer \\(this one is detached\\)`);
      t.throws(() => call(name, values), { name: 'TypeError', code: 'ERR_INVALID_STATE', message }, `${argument} detached`);
    });
  });
}

t.test('migration options are read field by field, each optional', async (t) => {
  for (const key of ['moveAll', 'prefault', 'countMoved', 'status']) {
    t.throws(() => native.migrate(bytes, 0, { [key]: 1 }), { name: 'TypeError', message: new RegExp(`^migrate: options\\.${key} must be a boolean`) });
    t.throws(() => native.movePages(bytes, new Int32Array(native.spanOf(bytes).pages), { [key]: 'yes' }), {
      name: 'TypeError',
      message: new RegExp(`^movePages: options\\.${key} must be a boolean`),
    });
  }
  t.throws(() => native.migrateAsync(bytes, 0, { retryDelayMs: '1' as unknown as number }), { name: 'TypeError', message: /^migrateAsync: options\.retryDelayMs must be a number/ });
  t.throws(() => native.movePagesAsync(bytes, new Int32Array(native.spanOf(bytes).pages), { retryDelayMs: 60001 }), {
    name: 'RangeError',
    message: /^movePagesAsync: options\.retryDelayMs must be an integer in \[0, 60000\]/,
  });
});

t.test('a policy is read field by field', async (t) => {
  const cases: [unknown, RegExp][] = [
    [{ flags: 0, nodes: [] }, /^setThreadPolicy: policy\.mode must be a number/],
    [{ mode: 0, flags: 'x', nodes: [] }, /^setThreadPolicy: policy\.flags must be a number/],
    [{ mode: 0, flags: 0 }, /^setThreadPolicy: policy\.nodes must be an array/],
    [{ mode: 0, flags: 0, nodes: ['0'] }, /^setThreadPolicy: policy\.nodes\[\] must be a number/],
    [{ mode: 1 << 13, flags: 0, nodes: [] }, /^setThreadPolicy: policy\.mode must be an integer/],
  ];
  for (const [value, message] of cases) t.throws(() => native.setThreadPolicy(value as typeof policy), { message });
});

t.test('native checks sizes and buffers instead of crashing', async (t) => {
  const scratch = new Int32Array(4).fill(12345);
  const counts = new Float64Array(2);
  const queryPages = native.pageQuery(scratch, counts);
  // Another copy of lib/pages.ts loading the same addon gets a query function of its own.
  const other = new Int32Array(4).fill(12345);
  const otherCounts = new Float64Array(2);
  native.pageQuery(other, otherCounts);
  t.equal(queryPages(bytes), undefined, 'a span that fits is written into the scratch array');
  t.ok(counts[1] >= 1 && counts[1] <= 2, `${counts[1]} page(s) counted`);
  t.ok(scratch[0] >= 0 || scratch[0] === -4096, `the first page's node (or hidden) written: ${scratch[0]}`);
  t.same([...other, ...otherCounts], [12345, 12345, 12345, 12345, 0, 0], "the other function's arrays untouched");
  t.throws(() => queryPages(Symbol('wrong') as unknown as Uint8Array), { name: 'TypeError', message: /^queryPages: view must be / }, 'the query function checks its view');
  const longer = queryPages(new Uint8Array(5 * native.pageSize));
  t.ok(longer instanceof Int32Array && longer.length >= 5, 'a longer span gets a new array');
  t.equal(counts[1], longer?.length, 'and its page count');
  t.throws(() => native.movePages(bytes, new Int32Array(native.spanOf(bytes).pages + 3), {}), {
    name: 'RangeError',
    message: /^movePages: targets must be an Int32Array of \d+ elements, one per page/,
  });
  const detached = new ArrayBuffer(8192);
  const view = new Uint8Array(detached);
  structuredClone(detached, { transfer: [detached] });
  t.throws(() => queryPages(view), { name: 'TypeError', code: 'ERR_INVALID_STATE', message: /^queryPages: view must be .*detached/ });
});

t.test('a failed system call carries errno, code and syscall as fields', async (t) => {
  // A pid no process has: migrate_pages says ESRCH.
  const gone = { errno: -constants.errno.ESRCH, code: 'ESRCH', syscall: 'migrate_pages' };
  t.throws(() => native.migrateProcess(unusedPid(), [0], [0]), gone);
  await t.rejects(native.migrateProcessAsync(unusedPid(), [0], [0]), gone);
});

t.test('a failed exec throws, and leaves signals and descriptors as they were', async (t) => {
  const state = () => [
    ...readFileSync('/proc/self/status', 'utf8').match(/^Sig(Ign|Blk):.*$/gm)!,
    ...[0, 1, 2].map((fd) => readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8').match(/^flags:.*$/m)![0]),
  ];
  const before = state();
  t.match(before.slice(2), [/^flags:\s+02/, /^flags:\s+02/, /^flags:\s+02/], 'Node.js marks fds 0 to 2 close-on-exec');
  t.throws(() => native.exec('/nonexistent/numaplace-exec-test', ['x']), { errno: -constants.errno.ENOENT, code: 'ENOENT', syscall: 'execvp' });
  t.same(state(), before, 'SIGPIPE and SIGXFSZ ignored again, the mask and close-on-exec flags as they were');
});
