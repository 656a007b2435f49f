import { constants } from 'node:os';
import { readFileSync } from 'node:fs';
import { native } from './binding';
import { callNative, callNativeAsync, NumaError } from './errors';
import { nodeListArgument, pidArgument } from './validate';

function processMigration(fn: string, pid: unknown, fromNodes: unknown, toNodes: unknown) {
  const request = {
    pid: pidArgument(pid, fn),
    from: nodeListArgument(fromNodes, fn, 'fromNodes'),
    to: nodeListArgument(toNodes, fn, 'toNodes'),
  };
  return { ...request, context: `for pid ${request.pid}, nodes [${request.from.join(', ')}] → [${request.to.join(', ')}]` };
}

/**
 * Moves every page of process `pid` (0 = this one) that is on a node of
 * `fromNodes` to the node at the same position in `toNodes` (migrate_pages),
 * like `migratepages pid from to`, on the libuv pool. Resolves to how many
 * pages could not be moved.
 *
 * @example
 * const { notMoved } = await migrateProcess(child.pid, [0], [1]);
 */
export async function migrateProcess(pid: number, fromNodes: number[], toNodes: number[]): Promise<{ notMoved: number }> {
  const fn = 'migrateProcess';
  const request = processMigration(fn, pid, fromNodes, toNodes);
  return { notMoved: await callNativeAsync(fn, request.context, () => native.migrateProcessAsync(request.pid, request.from, request.to)) };
}

/**
 * migrateProcess() on the calling thread, for scripts.
 *
 * @example
 * migrateProcessSync(0, [0], [1]); // this whole process from node 0 to node 1
 */
export function migrateProcessSync(pid: number, fromNodes: number[], toNodes: number[]): { notMoved: number } {
  const fn = 'migrateProcessSync';
  const request = processMigration(fn, pid, fromNodes, toNodes);
  return { notMoved: callNative(fn, request.context, () => native.migrateProcess(request.pid, request.from, request.to)) };
}

export type MappingKind = 'heap' | 'stack' | 'anon' | 'file' | 'huge' | 'other';

export interface MappingPlacement {
  start: bigint;
  kind: MappingKind;
  /** The policy as numa_maps shows it, e.g. 'default', 'bind:1', 'interleave:0-1'. */
  policy: string;
  file?: string;
  pageSizeKiB: number;
  pages: number;
  byNode: Map<number, number>;
}

export interface ProcessPlacement {
  pid: number;
  mappings: MappingPlacement[];
  /** Bytes per node for each kind of mapping, like `numastat -p`. */
  bytesByKind: Record<MappingKind, Map<number, number>>;
  bytesByNode: Map<number, number>;
}

function mappingKind(fields: Map<string, string>): MappingKind {
  if (fields.has('heap')) return 'heap';
  if (fields.has('stack')) return 'stack';
  if (fields.has('huge')) return 'huge';
  if (fields.has('file')) return 'file';
  if (fields.has('anon')) return 'anon';
  return 'other';
}

/**
 * Parses numa_maps text (one line per mapping: address, policy, key=value fields).
 *
 * @example
 * const mappings = parseNumaMaps(readFileSync('/proc/self/numa_maps', 'utf8'));
 */
export function parseNumaMaps(text: string): MappingPlacement[] {
  const mappings: MappingPlacement[] = [];
  for (const line of text.split('\n')) {
    const [address, policy, ...rest] = line.trim().split(/\s+/);
    if (!address || !policy) continue;
    const fields = new Map(rest.map((field) => [field.split('=')[0], field.slice(field.indexOf('=') + 1)] as const));
    const byNode = new Map<number, number>();
    let pages = 0;
    for (const [key, value] of fields) {
      if (/^N\d+$/.test(key)) {
        byNode.set(Number(key.slice(1)), Number(value));
        pages += Number(value);
      }
    }
    mappings.push({
      start: BigInt(`0x${address}`),
      kind: mappingKind(fields),
      policy,
      ...(fields.has('file') ? { file: fields.get('file') } : {}),
      pageSizeKiB: Number(fields.get('kernelpagesize_kB') ?? 4),
      pages,
      byNode,
    });
  }
  return mappings;
}

/**
 * Where the memory of process `pid` (0 = this one) lives, per mapping and per node, from /proc/<pid>/numa_maps.
 *
 * @example
 * console.log(processPlacement(child.pid).bytesByNode); // Map { 0 => bytes, 1 => bytes }
 */
export function processPlacement(pid: number): ProcessPlacement {
  const fn = 'processPlacement';
  const target = pidArgument(pid, fn);
  const file = `/proc/${target === 0 ? 'self' : target}/numa_maps`;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const cause = error as NodeJS.ErrnoException;
    const why = cause.code === 'ENOENT' ? ' (no such process)' : cause.code === 'EACCES' ? " (another user's process needs ptrace access)" : '';
    const numaError = new NumaError(`${fn}: cannot read ${file}: ${cause.code}${why}`, {
      errno: cause.errno ?? -constants.errno.EIO,
      syscall: 'open',
    });
    numaError.cause = error;
    throw numaError;
  }
  const mappings = parseNumaMaps(text);
  const kinds: MappingKind[] = ['heap', 'stack', 'anon', 'file', 'huge', 'other'];
  const bytesByKind = Object.fromEntries(kinds.map((kind) => [kind, new Map<number, number>()])) as ProcessPlacement['bytesByKind'];
  const bytesByNode = new Map<number, number>();
  for (const mapping of mappings) {
    for (const [node, pages] of mapping.byNode) {
      const bytes = pages * mapping.pageSizeKiB * 1024;
      bytesByKind[mapping.kind].set(node, (bytesByKind[mapping.kind].get(node) ?? 0) + bytes);
      bytesByNode.set(node, (bytesByNode.get(node) ?? 0) + bytes);
    }
  }
  return { pid: target, mappings, bytesByKind, bytesByNode };
}
