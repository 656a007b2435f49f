// The zero-page correction in native/numa/query.cc and pagemap.cc, driven directly: a C++
// program over the core (no Node-API) makes zero pages and pages of its own,
// and hands mark_zero_pages the statuses a kernel that reports the zero
// page's node would give. Runs on any kernel with PAGEMAP_SCAN (6.7+).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { PAGE_NOT_PRESENT } from '../lib/index';
import { checkedOnHost, tally } from './helpers';

const ENOTTY = -25; // a kernel before 6.7 has no PAGEMAP_SCAN

function hugeZeroPageExpected(): boolean {
  try {
    const enabled = readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8');
    const zero = readFileSync('/sys/kernel/mm/transparent_hugepage/use_zero_page', 'utf8').trim();
    return !enabled.includes('[never]') && zero === '1';
  } catch {
    return false;
  }
}

t.test('zero pages are not present, whatever node the kernel names for them', async (t) => {
  if (checkedOnHost(t, 'compiling the core')) return;
  const root = path.join(__dirname, '..');
  const dir = mkdtempSync(path.join(tmpdir(), 'numaplace-zero-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const program = path.join(dir, 'zero-pages');
  const sources = ['native/numa/span.cc', 'native/numa/pagemap.cc', 'native/numa/policy.cc', 'native/numa/query.cc', 'test/native/zero-pages.cc'].map((file) =>
    path.join(root, file),
  );
  execFileSync('g++', ['-std=c++17', '-O1', '-Wall', '-Wextra', '-Werror', `-I${path.join(root, 'native')}`, ...sources, '-o', program]);
  const out = JSON.parse(execFileSync(program, { encoding: 'utf8' }));
  t.comment(`this kernel reports the zero page's node from move_pages: ${out.kernelReportsZeroPageNode}`);
  const [markSmall, markHuge, querySmall, queryHuge] = out.errors;
  t.same([querySmall, queryHuge], [0, 0], 'query_nodes succeeds');
  const N = PAGE_NOT_PRESENT;
  if (!out.readMapsZeroPage) {
    // A kernel without the zero page (a 6.18 build booted with pvm_no_zero_page=1): a read gives the
    // page a page of its own, on a node, and there is nothing to correct.
    t.equal(out.kernelReportsZeroPageNode, false, 'no zero page, so no correction on every query');
    t.ok([0, 1, 2].every((page) => out.smallQuery[page] >= 0), `read and written pages on a node: ${out.smallQuery}`);
    t.same(out.smallQuery.slice(3), [N, N, N, N, N], 'untouched pages: not present');
    t.ok(out.hugeQuery[0] >= 0, 'the page read in the huge range is on a node');
    if (markSmall !== ENOTTY) t.same([...out.smallMarked, ...out.hugeMarked].filter((status: number) => status !== 0), [], 'the scan finds no zero page');
    return;
  }
  t.same(out.smallQuery.filter((_: number, page: number) => page !== 1), [N, N, N, N, N, N, N], 'read and untouched pages: not present');
  t.ok(out.smallQuery[1] >= 0, `the written page is on node ${out.smallQuery[1]}`);
  t.same(tally(Int32Array.from(out.hugeQuery)), { [N]: out.hugeQuery.length }, 'a range only read (huge zero page where THP allows): not present');
  if (markSmall === ENOTTY) {
    t.equal(out.kernelReportsZeroPageNode, false, 'no PAGEMAP_SCAN here, and none needed: the kernel reports zero pages as absent');
    return;
  }
  t.same([markSmall, markHuge], [0, 0], 'PAGEMAP_SCAN answers');
  t.same(out.smallMarked, [N, 0, N, 0, 0, 0, 0, 0], 'node statuses of the two zero pages corrected, the written and untouched pages left as the kernel said');
  const hugeMarks = tally(Int32Array.from(out.hugeMarked));
  if (hugeZeroPageExpected()) {
    t.same(hugeMarks, { [N]: out.hugeMarked.length }, 'every subpage of the huge zero page corrected');
  } else {
    t.equal(out.hugeMarked[0], N, 'without THP, the one page read is a small zero page');
  }
});
