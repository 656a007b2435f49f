// Resource limits and privileges: the kernel's answer, explained, and the
// process intact afterwards.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import t from 'tap';
import { allocOnNode, migrateBufferSync, pageNodes, topology } from '../lib/index';
import { checkedOnHost, checksum, childEnv, filledBuffer, fillNearly, multiNodeOrSkip, nodeMeminfo, runAsNobody, tally } from './helpers';

t.test('mbind past vm.max_map_count: a coded ENOMEM that names the limit; the process keeps working', async (t) => {
  if (checkedOnHost(t, 'the mapping limit (32k mbind calls, a minute under emulation)')) return;
  const out = JSON.parse(execFileSync(process.execPath, [path.join(__dirname, 'fixtures/mapping-limit.js')], { encoding: 'utf8', env: childEnv() }));
  t.match(out.error, { name: 'NumaError', code: 'ENOMEM', syscall: 'mbind', message: /^bindBuffer: .*vm\.max_map_count, \d+\)/ });
  t.ok(out.binds * 2 >= out.limit - out.before - 1000, `${out.binds} binds of lone pages (2 mappings each) before it failed: ${out.before} mappings at the start, limit ${out.limit}`);
  t.ok(out.after < out.limit / 2, `one policy over the region again: ${out.after} mappings (the region in ${out.regionPieces})`);
  t.equal(out.moved, 64, 'pages of the region still move');
  t.equal(out.data, 7);
});

t.test('without CAP_SYS_NICE, moveAll is EPERM and nothing moves', async (t) => {
  if (process.getuid?.() !== 0) {
    t.plan(0, 'needs root to run a child as another user');
    return;
  }
  const script = `
    const n = require('./dist');
    const buffer = n.allocLocal(16 * 4096).fill(1);
    const node = n.pageNodes(buffer)[0];
    const others = n.topology().nodes.filter((x) => x.hasMemory && x.id !== node).map((x) => x.id);
    const caught = (call) => { try { call(); return 'no error'; } catch (e) { return { name: e.name, code: e.code, syscall: e.syscall }; } };
    console.log(JSON.stringify({
      migrate: caught(() => n.migrateBufferSync(buffer, others[0] ?? node, { moveAll: true })),
      bind: caught(() => n.bindBuffer(buffer, { mode: 'bind', nodes: [others[0] ?? node], moveAll: true })),
      before: node,
      after: [...new Set(n.pageNodes(buffer))],
    }));`;
  const out = JSON.parse(runAsNobody(script));
  // Refused before any system call, so no syscall is named.
  t.same(out.migrate, { name: 'NumaError', code: 'EPERM' });
  t.same(out.bind, { name: 'NumaError', code: 'EPERM' });
  t.same(out.after, [out.before], 'every page is where it was');
});

t.test('multi-node: migrating to a nearly full node counts ENOMEM per page; data and process intact', async (t) => {
  const nodes = multiNodeOrSkip(t);
  if (!nodes) return;
  const [a, b] = nodes;
  const { bytes, room } = await fillNearly(t, b);
  const spare = nodeMeminfo(a).free;
  if (bytes > spare / 2) {
    t.comment(`node ${b} still has ${room >> 20} MiB to give after the fill, more than node ${a} can hold twice: not checked`);
    return;
  }
  // Its last page never written: a page with no page of its own says nothing of a full node.
  const buffer = allocOnNode(bytes + topology().pageSize, a, { hugePages: false });
  buffer.set(filledBuffer(bytes));
  const digest = checksum(buffer);
  const report = migrateBufferSync(buffer, b);
  const enomem = report.failed.get('ENOMEM') ?? 0;
  const roomPages = Math.ceil(room / topology().pageSize);
  t.ok(enomem > 0, `${enomem} pages could not move for lack of memory on node ${b} (${report.onNode} on it, meminfo's room ${roomPages})`);
  t.same([...report.failed.keys()].filter((code) => code !== 'ENOMEM'), [], 'no other failure');
  t.equal(report.onNode + enomem + report.notPresent, report.pages, 'every page accounted for');
  t.equal(report.notPresent, 1, 'the page never written');
  if (report.hidden === 0) t.equal(report.calls, report.chunks, 'a full node is not tried again: one move_pages call a chunk');
  t.equal(checksum(buffer), digest, 'data unchanged');
  const where = tally(pageNodes(buffer));
  t.equal((where[a] ?? 0) + (where[b] ?? 0), report.pages - report.notPresent, 'every written page on one of the two nodes');
});
