import { type ChildProcess, execFileSync, spawn, type SpawnOptions, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, closeSync, cpSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, realpathSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { release, tmpdir } from 'node:os';
import path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { crc32 } from 'node:zlib';
import type { Test } from 'tap';
import { native } from '../lib/binding';
import { allocLocal, bindBuffer, topology } from '../lib/index';
import packageJson from '../package.json';

/** A buffer with data on every page, up to its last byte (so every page of its span is written). */
export function filledBuffer(bytes: number, seed = 1): Buffer {
  return fillPattern(Buffer.allocUnsafeSlow(bytes), seed);
}

/** Writes filledBuffer()'s data into `buffer`, in place: every page up to its last byte. */
export function fillPattern(buffer: Buffer, seed = 1): Buffer {
  const bytes = buffer.length;
  for (let offset = 0; offset + 4 <= bytes; offset += 512) buffer.writeUInt32LE((offset * 2654435761 + seed) >>> 0, offset);
  if (bytes >= 4) buffer.writeUInt32LE(seed, bytes - 4);
  return buffer;
}

/**
 * Never-written memory: a fresh mapping of its own (allocLocal), so no
 * allocator has written a header into it — glibc's and ASan's would. The
 * first and last pages are left out, as callers count on `bytes / page - 2` pages.
 */
export function freshMemory(bytes: number): Buffer {
  const pageSize = topology().pageSize;
  return allocLocal(bytes).subarray(pageSize, bytes - pageSize);
}

/**
 * A checksum of the bytes, to tell that data survived a migration. CRC-32, not
 * a cryptographic hash: it catches any corruption a move could cause, and under
 * emulation it is 11x faster than SHA-256 (0.5 s against 5.9 s for 64 MiB).
 */
export function checksum(view: Uint8Array): string {
  return crc32(view).toString(16);
}

let readsMapZeroPage: boolean | undefined;

/**
 * Whether reading a never-written page maps the kernel's shared zero page here, from
 * /proc/self/pagemap: present but not mapped exclusively. A kernel can be built or booted without
 * it (seen: a 6.18 build with pvm_no_zero_page=1); a read then gives the page a page of its own,
 * on a node like any written page.
 */
export function readMapsZeroPage(): boolean {
  if (readsMapZeroPage === undefined) {
    const view = allocLocal(topology().pageSize, { hugePages: false });
    void view[0];
    const entry = Buffer.alloc(8);
    const pagemap = openSync('/proc/self/pagemap', 'r');
    try {
      readSync(pagemap, entry, 0, 8, Number((native.spanOf(view).start / BigInt(view.length)) * 8n));
    } finally {
      closeSync(pagemap);
    }
    const bits = entry.readBigUInt64LE();
    const present = (bits >> 63n) & 1n;
    const exclusive = (bits >> 56n) & 1n;
    readsMapZeroPage = present === 1n && exclusive === 0n;
  }
  return readsMapZeroPage;
}

/** Nodes that can hold pages (online with memory), read from inside whatever machine runs the test. */
export function memoryNodeIds(): number[] {
  return topology()
    .nodes.filter((node) => node.hasMemory)
    .map((node) => node.id);
}

/** A node id that is not online here. */
export function absentNode(): number {
  const online = new Set(topology().online);
  let id = 0;
  while (online.has(id)) id++;
  return id;
}

/**
 * A process id no process has: pid_max (ids stay below it) where that is below
 * PID_MAX_LIMIT, else the highest id there is, checked free.
 */
export function unusedPid(): number {
  const pid = Math.min(Number(readFileSync('/proc/sys/kernel/pid_max', 'utf8')), 4194303);
  if (existsSync(`/proc/${pid}`)) throw new Error(`unusedPid: process ${pid} exists`);
  return pid;
}

/** Counts of each value in a status array. */
export function tally(status: Int32Array): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const entry of status) counts[entry] = (counts[entry] ?? 0) + 1;
  return counts;
}

/** The pages of `status` on each node but `node`, by node in ascending order: what a report's `elsewhere` should say. */
export function awayFrom(status: Int32Array, node: number): Map<number, number> {
  return new Map(
    Object.entries(tally(status))
      .map(([id, pages]): [number, number] => [Number(id), pages])
      .filter(([id]) => id >= 0 && id !== node)
      .sort((a, b) => a[0] - b[0]),
  );
}

/**
 * The memory nodes for a test that needs two or more. Elsewhere the test is
 * skipped with a visible reason; in the QEMU guest (NUMAPLACE_REQUIRE_MULTINODE=1)
 * a missing second node fails it instead.
 */
export function multiNodeOrSkip(t: Test): number[] | undefined {
  const nodes = memoryNodeIds();
  if (nodes.length >= 2) return nodes;
  if (process.env.NUMAPLACE_REQUIRE_MULTINODE === '1') {
    t.fail(`needs 2+ memory nodes but this guest has ${nodes.length}`);
  } else {
    t.plan(0, 'needs 2+ memory nodes: runs in the QEMU guest (npm run test:vm) or on a NUMA host');
  }
  return undefined;
}

/** 1 when the kernel's automatic NUMA balancing is on. */
export function numaBalancing(): number {
  try {
    return Number(readFileSync('/proc/sys/kernel/numa_balancing', 'utf8'));
  } catch {
    return 0;
  }
}

/**
 * A child Node process holding `mib` MiB it has written; resolves once it is
 * written. It does not load the addon, so it runs without a sanitizer runtime:
 * migrate_pages over ASan's terabytes of shadow mappings would take minutes.
 * Killed when test `t` ends, however it ends.
 */
export async function childWithMemory(t: Test, mib: number) {
  const child = spawn(process.execPath, ['-e', `const b = Buffer.alloc(${mib} * 2 ** 20, 1); console.log('ready'); setInterval(() => b[0]++, 1000);`], {
    env: { PATH: process.env.PATH },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.teardown(() => {
    child.kill('SIGKILL');
  });
  await once(child.stdout!, 'data');
  return child;
}

/**
 * True (and the test skipped with the reason) inside the QEMU guest, for tests
 * of things that do not depend on NUMA: the host run covers them, and every
 * process started under emulation costs seconds.
 */
export function checkedOnHost(t: Test, what: string): boolean {
  if (!process.env.NUMAPLACE_VM_TOPOLOGY) return false;
  t.plan(0, `${what} is checked on the host run`);
  return true;
}

/**
 * The environment of a child process a test starts: PATH only (tap would
 * inject its process tracking otherwise), plus the settings of a test:asan
 * run, whose sanitizer runtime must be preloaded into every process.
 */
export function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH };
  for (const name of ['LD_PRELOAD', 'ASAN_OPTIONS', 'UBSAN_OPTIONS']) {
    if (process.env[name]) env[name] = process.env[name];
  }
  return env;
}

const ROOT = path.join(__dirname, '..');
const CLI = path.join(ROOT, packageJson.bin.numaplace);

/** The user tests run children as to see what a process without privileges gets. */
export const NOBODY = { uid: 65534, gid: 65534 } as const;

let copyForNobody: string | undefined;

/**
 * The built package where user nobody can read it: the checkout may sit under
 * a directory only its owner may enter (root's home is mode 700), from which
 * nobody can load nothing. What require('numaplace') and the fixtures load is
 * copied once per test process, into a world-readable temporary directory
 * removed when the process exits.
 */
export function packageForNobody(): string {
  if (copyForNobody) return copyForNobody;
  const copy = mkdtempSync(path.join(tmpdir(), 'numaplace-nobody-'));
  process.once('exit', () => rmSync(copy, { recursive: true, force: true }));
  chmodSync(copy, 0o755);
  for (const part of ['package.json', 'dist', 'build/Release/numaplace.node', 'node_modules/node-gyp-build', 'test/fixtures']) {
    cpSync(path.join(ROOT, part), path.join(copy, part), { recursive: true, dereference: true });
  }
  copyForNobody = copy;
  return copy;
}

/**
 * Spawn arguments that run `node <args>` as user nobody in packageForNobody()
 * (so `-e` scripts require('./dist')). tap adds its process tracking to every
 * child's NODE_OPTIONS, a hook in the checkout that nobody cannot read:
 * env(1) drops it before node starts.
 */
export function nodeAsNobody(args: string[]): [string, string[], SpawnOptions] {
  return ['env', ['-u', 'NODE_OPTIONS', process.execPath, ...args], { cwd: packageForNobody(), env: childEnv(), ...NOBODY }];
}

/** `node -e script` as user nobody, to its end: its standard output, or a throw with its error output. */
export function runAsNobody(script: string): string {
  const [command, args, options] = nodeAsNobody(['-e', script]);
  const result = spawnSync(command, args, { ...options, encoding: 'utf8', timeout: 120_000 });
  if (result.status !== 0) throw new Error(`node as nobody exited ${result.status ?? result.signal}: ${result.stderr}`);
  return result.stdout;
}

/** Runs the numaplace command as a user would (optionally as nobody), to its end. */
export function numaplace(args: string[], options: { asNobody?: boolean } = {}) {
  const [command, commandArgs, spawnOptions] = options.asNobody
    ? nodeAsNobody([packageJson.bin.numaplace, ...args])
    : [process.execPath, [CLI, ...args], { env: childEnv() }];
  const result = spawnSync(command, commandArgs, { ...spawnOptions, encoding: 'utf8', timeout: 120_000 });
  return { stdout: result.stdout, stderr: result.stderr, code: result.status, signal: result.signal };
}

/** The files of /sys/devices/system/node on a plausible one-node machine, with `changes` applied (null removes a file). */
export function oneNodeMachine(changes: Record<string, string | null>): Record<string, string> {
  const files: Record<string, string | null> = {
    online: '0\n',
    possible: '0\n',
    has_cpu: '0\n',
    has_memory: '0\n',
    'node0/cpulist': '0\n',
    'node0/distance': '10\n',
    'node0/meminfo': 'Node 0 MemTotal:       1048576 kB\nNode 0 MemFree:         524288 kB\n',
    'node0/numastat': 'numa_hit 10\nnuma_miss 0\n',
    ...changes,
  };
  return Object.fromEntries(Object.entries(files).filter((entry): entry is [string, string] => entry[1] !== null));
}

/** Whether this kernel has PAGEMAP_SCAN (Linux 6.7+), which shows huge pages and populated pages without privileges. */
export function kernelHasPagemapScan(): boolean {
  const [major, minor] = release().split('.').map(Number);
  return major > 6 || (major === 6 && minor >= 7);
}

/** test/native/held-page.c: holds a view's pages in a pipe, as I/O holds pages, until release(). */
export interface PageHolder {
  /** The bytes the pipe took. */
  holdPages(view: Uint8Array): number;
  release(): void;
}

let builtHolder: PageHolder | undefined;

/** The page holder, built for this Node once per test process (Node-API from the headers Node ships). */
export function pageHolder(): PageHolder {
  if (builtHolder) return builtHolder;
  const headers = path.join(path.dirname(realpathSync(process.execPath)), '..', 'include', 'node');
  const addon = compiledFixture('held-page.c', 'held-page.node', ['-shared', '-fPIC', '-DNAPI_VERSION=8', `-I${headers}`]);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  builtHolder = require(addon) as PageHolder;
  return builtHolder;
}

/** test/native/`source` compiled with `flags` into `output`, in a temporary directory removed when this process exits; its path. */
function compiledFixture(source: string, output: string, flags: string[]): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'numaplace-fixture-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  // From the checkout, where the test runs from a compiled copy of the tests (test/vm/suite) too.
  const checkout = path.dirname(path.dirname(realpathSync(require.resolve('../dist/index.js'))));
  const built = path.join(dir, output);
  execFileSync('cc', [...flags, '-O1', '-Wall', '-Wextra', '-Werror', path.join(checkout, 'test', 'native', source), '-o', built]);
  return built;
}

/**
 * test/native/sparse-mapping.c run as a child: `bytes` of address space reserved, three pages of it
 * written (first, middle, last). Linked statically: a test that moves all its pages moves no page of a
 * shared library, which every later process in the guest would find on the node they went to. Killed
 * at the test's end.
 */
export async function sparseMappingChild(t: Test, bytes: number): Promise<{ child: ChildProcess; start: bigint }> {
  const child = spawn(compiledFixture('sparse-mapping.c', 'sparse-mapping', ['-static']), [String(bytes)], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => {
    child.kill('SIGKILL');
  });
  const [line] = (await once(child.stdout!, 'data')) as [Buffer];
  return { child, start: BigInt(`0x${line.toString().trim()}`) };
}

/**
 * A cgroup v2 of the test's own, for a guest (root, no cgroup mounted there):
 * the hierarchy mounted in a temporary directory, `controllers` turned on for
 * its children, one cgroup made; `enter` moves a child process (all its
 * threads) into it. At teardown the children are killed and waited for, and
 * everything is undone.
 */
export function testCgroup(t: Test, controllers: string[]): { directory: string; enter: (child: ChildProcess) => void } {
  const mount = mkdtempSync(path.join(tmpdir(), 'numaplace-cgroup-'));
  execFileSync('mount', ['-t', 'cgroup2', 'none', mount]);
  const control = path.join(mount, 'cgroup.subtree_control');
  writeFileSync(control, controllers.map((name) => `+${name}`).join(' '));
  const directory = path.join(mount, 'numaplace-test');
  mkdirSync(directory);
  const children: ChildProcess[] = [];
  t.teardown(async () => {
    for (const child of children) {
      child.kill('SIGKILL');
      if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
    }
    rmdirSync(directory);
    writeFileSync(control, controllers.map((name) => `-${name}`).join(' '));
    execFileSync('umount', [mount]);
    rmSync(mount, { recursive: true });
  });
  const enter = (child: ChildProcess) => {
    children.push(child);
    writeFileSync(path.join(directory, 'cgroup.procs'), String(child.pid));
  };
  return { directory, enter };
}

/**
 * Stops a child and returns once every thread's state says so (a signal is delivered asynchronously, and
 * each of V8's threads stops on its own): nothing it shows changes meanwhile.
 */
export async function stopped(child: ChildProcess): Promise<void> {
  child.kill('SIGSTOP');
  const tasks = `/proc/${child.pid}/task`;
  // A thread that ended between the listing and the reading changes nothing any more.
  const state = (task: string) => {
    try {
      return readFileSync(`${tasks}/${task}/stat`, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ESRCH') return ') T ';
      throw error;
    }
  };
  const allStopped = () => readdirSync(tasks).every((task) => /\) [Tt] /.test(state(task)));
  while (!allStopped()) await new Promise((resolve) => setTimeout(resolve, 10));
}

/**
 * Collects the garbage of the tests before: memory numaplace allocated is
 * unmapped on the next turn of the event loop after its collection, so each
 * collection is followed by a turn (a test that blocks the loop, as spawnSync
 * does, would otherwise run with that memory still mapped), and the second
 * collects what the first one's finalizers let go.
 */
export async function collectGarbage(): Promise<void> {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  for (let round = 0; round < 2; round++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** Fields of node `id`'s meminfo, in bytes. */
export function nodeMeminfo(id: number) {
  const meminfo = readFileSync(`/sys/devices/system/node/node${id}/meminfo`, 'utf8');
  const bytes = (field: string) => 1024 * Number(new RegExp(`^Node \\d+ ${field}:\\s+(\\d+) kB`, 'm').exec(meminfo)?.[1] ?? 0);
  const free = bytes('MemFree');
  // What the node could still give a migration: free pages plus the page cache and
  // reclaimable kernel memory it would reclaim for them (an upper bound: without
  // swap, some page cache cannot go).
  return { free, room: free + bytes('FilePages') + bytes('KReclaimable') };
}

/**
 * Fills node `node` nearly full for the rest of test `t`, and resolves to what
 * it can still give a migration (`room`) and a size of buffer beyond it
 * (`bytes`). The filler is collected at teardown, before the next test, which
 * may bind memory to the node (seen: an OOM kill when the stress test came next).
 */
export async function fillNearly(t: Test, node: number): Promise<{ room: number; bytes: number }> {
  // Memory of earlier tests freed after the fill would give the node room again.
  await collectGarbage();
  // Page cache on the node would be reclaimed for the migration: drop it first where allowed.
  try {
    writeFileSync('/proc/sys/vm/drop_caches', '1');
  } catch {
    t.comment(`page cache not dropped (not root): the room left on node ${node} counts it`);
  }
  // 'preferred' fills the node down to its watermarks and then falls back to
  // other nodes: no OOM kill. Only what it has free: little spills elsewhere.
  let filler: Buffer | undefined = allocLocal(nodeMeminfo(node).free, { hugePages: false });
  bindBuffer(filler, { mode: 'preferred', nodes: [node] });
  filler.fill(1);
  // Held until the teardown, which lets it go before it collects it.
  t.teardown(async () => {
    filler = undefined;
    await collectGarbage();
  });
  // Larger than all the node can still give: a move there must run out of memory. The
  // margin covers what meminfo does not show as free (per-CPU page lists: ~3 MiB were seen).
  const { room } = nodeMeminfo(node);
  return { room, bytes: Math.ceil((room + 32 * 2 ** 20) / 2 ** 20) * 2 ** 20 };
}
