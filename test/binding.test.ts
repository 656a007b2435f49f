import { execSync } from 'node:child_process';
import t from 'tap';
import type { NativeBinding } from '../types/binding';
import { native } from '../lib/binding';

// tsc checks this object has exactly the members of NativeBinding; the test
// checks the addon exports exactly these names.
const declared: Record<keyof NativeBinding, true> = {
  pageSize: true,
  currentCpu: true,
  queryPages: true,
  spanOf: true,
  prefault: true,
  migrate: true,
  migrateAsync: true,
  bindRange: true,
  rangePolicy: true,
  nodeOfAddress: true,
  threadPolicy: true,
  setThreadPolicy: true,
  setHomeNode: true,
  migrateProcess: true,
  migrateProcessAsync: true,
  allocate: true,
  threadAffinity: true,
  setThreadAffinity: true,
};

t.test('native exports match types/binding.d.ts', async (t) => {
  t.same(Object.keys(native).sort(), Object.keys(declared).sort());
  t.equal(native.pageSize, Number(execSync('getconf PAGESIZE').toString()));
});

t.test('native re-checks its arguments instead of crashing', async (t) => {
  const bytes = new Uint8Array(16);
  const scratch = new Int32Array(4);
  const counts = new Float64Array(2);
  t.throws(() => native.queryPages(new Int32Array(4) as unknown as Uint8Array, scratch, counts), TypeError);
  t.throws(() => native.queryPages(bytes, scratch, new Float64Array(1)), TypeError);
  t.throws(() => native.queryPages(bytes, new Float64Array(4) as unknown as Int32Array, counts), TypeError);
  t.equal(native.queryPages(bytes, scratch, counts), scratch, 'a span that fits is written into scratch');
  t.ok(counts[1] >= 1 && counts[1] <= 2, `${counts[1]} page(s) counted`);
  t.not(native.queryPages(new Uint8Array(5 * native.pageSize), scratch, counts), scratch, 'a longer span gets a new array');
  t.throws(() => native.migrate(bytes, -1, 2, false), RangeError);
  t.throws(() => native.migrate(bytes, 0.5, 2, false), RangeError);
  t.throws(() => native.migrate(bytes, 0, 3, false), RangeError);
  t.throws(() => native.migrate(bytes, new Int32Array(5), 2, false), RangeError);
  t.throws(() => native.migrateProcess(-1, [0], [0]), RangeError);
  t.throws(() => native.migrateProcessAsync(0.5, [0], [0]), RangeError);
  t.throws(() => native.migrate(bytes, 'x' as unknown as number, 2, false), TypeError);
  const detached = new ArrayBuffer(8192);
  const view = new Uint8Array(detached);
  structuredClone(detached, { transfer: [detached] });
  t.throws(() => native.queryPages(view, new Int32Array(4), new Float64Array(2)), TypeError);
});
