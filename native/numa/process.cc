#include "process.h"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <new>
#include <sys/uio.h>
#include <unistd.h>

#include "kernel.h"
#include "pagemap.h"
#include "query.h"

namespace numa {
namespace {

// move_pages on process `pid` (0: this one), a query when `nodes` is null.
// The number of pages not moved, or a negative errno.
long move_pages_of(int pid, size_t count, void** addresses, const int32_t* nodes, int32_t* status, int flags) {
  long rc = syscall(SYS_move_pages, pid, count, addresses, nodes, status, flags);
  return rc < 0 ? -errno : rc;
}

// Faults pages of process `pid` back in by reading a byte of each
// (process_vm_readv takes the kernel's fault path, which ends a NUMA hinting
// fault), so that move_pages sees them. Best effort: without ptrace access
// the read fails and they stay hidden.
void fault_in(int pid, const std::vector<void*>& pages) {
  constexpr size_t kBatch = 1024;  // IOV_MAX
  char sink[kBatch];
  iovec local = {sink, 0};
  std::vector<iovec> remote;
  for (size_t first = 0; first < pages.size(); first += kBatch) {
    size_t n = std::min(kBatch, pages.size() - first);
    remote.clear();
    for (size_t k = 0; k < n; k++) remote.push_back({pages[first + k], 1});
    local.iov_len = n;
    if (process_vm_readv(pid == 0 ? getpid() : pid, &local, 1, remote.data(), n, 0) < 0) return;
  }
}

// The range's pages the query called absent that are present and the
// process's own in its pagemap: NUMA balancing hid them. Faulted back in and
// queried again; the indexes of those still hidden go to `hidden`. Only small
// pages: NUMA balancing does not scan hugetlb memory. A pagemap that cannot
// be read (no ptrace access) leaves them as the query said.
int show_hidden(const ProcessRange& range, std::vector<void*>& addresses, std::vector<int32_t>& status, std::vector<size_t>& hidden) {
  if (range.page_bytes != page_size() || std::none_of(status.begin(), status.end(), kernel_says_absent)) return 0;
  std::vector<uint64_t> entries(range.count);
  if (read_process_pagemap(range.pid, range.start, range.count, entries.data()) != 0) return 0;
  std::vector<size_t> found;
  std::vector<void*> pages;
  for (size_t i = 0; i < range.count; i++) {
    if (!kernel_says_absent(status[i]) || !own_page(entries[i])) continue;
    found.push_back(i);
    pages.push_back(addresses[i]);
  }
  if (found.empty()) return 0;
  fault_in(range.pid, pages);
  std::vector<int32_t> now(found.size());
  if (long rc = move_pages_of(range.pid, pages.size(), pages.data(), nullptr, now.data(), 0); rc < 0) return int(rc);
  for (size_t k = 0; k < found.size(); k++) {
    status[found[k]] = now[k];
    if (kernel_says_absent(now[k])) hidden.push_back(found[k]);
  }
  return 0;
}

// Where a page on `node` goes, or -1 when it stays (its node has no target, or is its target).
int32_t target_of(const ProcessRange& range, int32_t node) {
  if (node < 0 || size_t(node) >= range.targets.size() || range.targets[node] == node) return -1;
  return range.targets[node];
}

// The pages to move (those on a node with another target) and their targets,
// at most max_moves of them. Returns the pages of the range handled: all, or
// up to the first page left for a later call; such a cut past a huge-page
// boundary falls back to it, so that a transparent huge page is not split
// between calls where it can be helped.
size_t plan_moves(const ProcessRange& range, const std::vector<void*>& addresses, const std::vector<int32_t>& status,
                  std::vector<void*>& pages, std::vector<int32_t>& targets) {
  for (size_t i = 0; i < range.count; i++) {
    int32_t target = target_of(range, status[i]);
    if (target < 0) continue;
    if (range.max_moves == 0 || pages.size() < range.max_moves) {
      pages.push_back(addresses[i]);
      targets.push_back(target);
      continue;
    }
    const uintptr_t huge = huge_page_size(), cut = range.start + i * range.page_bytes;
    const uintptr_t boundary = huge ? cut / huge * huge : cut;
    if (range.page_bytes != page_size() || boundary <= range.start) return i;
    while (!pages.empty() && reinterpret_cast<uintptr_t>(pages.back()) >= boundary) {
      pages.pop_back();
      targets.pop_back();
    }
    return (boundary - range.start) / range.page_bytes;
  }
  return range.count;
}

// Where the moved pages are, read back: each on its target counts as moved;
// any other (gone meanwhile aside) is failed by the kernel's status, or the
// node it is on, and counted by that node.
int count_outcome(int pid, std::vector<void*>& pages, const std::vector<int32_t>& targets, const std::vector<int32_t>& kernel,
                  ProcessRangeOutcome& outcome) {
  std::vector<int32_t> where(pages.size());
  if (long rc = move_pages_of(pid, pages.size(), pages.data(), nullptr, where.data(), 0); rc < 0) return int(rc);
  for (size_t k = 0; k < pages.size(); k++) {
    if (where[k] == targets[k]) {
      outcome.moved++;
      continue;
    }
    if (kernel_says_absent(where[k])) continue;
    outcome.failed[kernel[k] < 0 && kernel[k] != kUnset ? kernel[k] : where[k]]++;
    if (where[k] >= 0) outcome.elsewhere[where[k]]++;
  }
  return 0;
}

// A cut inside a huge page: the kernel moved the huge page whole, pages past
// the cut with it. The cut goes on over the pages now where they were to go
// (or that were to stay), up to the next huge-page boundary, so that they
// count here, as moved, not as placed already in the next call.
void moved_along(const ProcessRange& range, std::vector<void*>& addresses, const std::vector<int32_t>& status, ProcessRangeOutcome& outcome) {
  const uintptr_t huge = huge_page_size(), at = range.start + outcome.pages * range.page_bytes;
  if (huge == 0 || range.page_bytes != page_size() || outcome.pages == range.count || at % huge == 0) return;
  const size_t first = outcome.pages, end = std::min(range.count, first + (huge - at % huge) / page_size());
  std::vector<int32_t> where(end - first);
  if (move_pages_of(range.pid, end - first, &addresses[first], nullptr, where.data(), 0) < 0) return;
  for (size_t i = first; i < end; i++) {
    int32_t target = target_of(range, status[i]);
    if (target >= 0 && where[i - first] != target) return;
    outcome.moved += target >= 0;
    outcome.pages = i + 1;
  }
}

// The pages from the range's start to the first populated page of its
// mapping (all of them when none is), or 0 when that cannot be known.
size_t leading_hole(const ProcessRange& range) {
  uintptr_t first = range.start;
  if (first_populated(range.pid, range.start, range.mapping_end, &first) != 0) return 0;
  return (first - range.start) / range.page_bytes;
}

}  // namespace

long migrate_process(int pid, const NodeMask& from, const NodeMask& to) {
  long rc = syscall(SYS_migrate_pages, pid, NodeMask::maxnode(), from.data(), to.data());
  return rc < 0 ? -errno : rc;
}

ProcessRangeOutcome move_process_range(const ProcessRange& range) try {
  ProcessRangeOutcome outcome;
  auto fail = [&](long error) {
    outcome.error = int(error);
    outcome.syscall = "move_pages";
    return outcome;
  };
  if (range.count == 0 || range.count > kChunkPages || range.page_bytes < page_size() || range.start % range.page_bytes ||
      range.mapping_end < range.start + range.count * range.page_bytes)
    return fail(-EINVAL);
  if (size_t hole = leading_hole(range)) {
    outcome.pages = hole;
    return outcome;
  }
  std::vector<void*> addresses(range.count);
  for (size_t i = 0; i < range.count; i++) addresses[i] = reinterpret_cast<void*>(range.start + i * range.page_bytes);
  std::vector<int32_t> status(range.count);
  if (long rc = move_pages_of(range.pid, range.count, addresses.data(), nullptr, status.data(), 0); rc < 0) return fail(rc);
  std::vector<size_t> hidden;
  if (int err = show_hidden(range, addresses, status, hidden)) return fail(err);
  // Those of the pages this call handles: the next call asks about the rest again.
  auto count_hidden = [&] { outcome.hidden = size_t(std::count_if(hidden.begin(), hidden.end(), [&](size_t i) { return i < outcome.pages; })); };
  std::vector<void*> pages;
  std::vector<int32_t> targets;
  outcome.pages = plan_moves(range, addresses, status, pages, targets);
  if (pages.empty()) {
    count_hidden();
    return outcome;
  }
  std::vector<int32_t> kernel(pages.size(), kUnset);
  const uint64_t began = monotonic_ns();
  long rc = move_pages_of(range.pid, pages.size(), pages.data(), targets.data(), kernel.data(), range.move_all ? MPOL_MF_MOVE_ALL : MPOL_MF_MOVE);
  outcome.call_ns.push_back(monotonic_ns() - began);
  // The target ran out of memory: the kernel stops the batch without statuses.
  if (rc == -ENOMEM) std::fill(kernel.begin(), kernel.end(), -ENOMEM);
  if (rc < 0 && rc != -ENOMEM) return fail(rc);
  if (int err = count_outcome(range.pid, pages, targets, kernel, outcome)) return fail(err);
  moved_along(range, addresses, status, outcome);
  count_hidden();
  return outcome;
} catch (const std::bad_alloc&) {
  ProcessRangeOutcome outcome;
  outcome.error = -ENOMEM;
  outcome.syscall = "move_pages";
  return outcome;
}

}  // namespace numa
