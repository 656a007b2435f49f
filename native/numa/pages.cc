#include "pages.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <fcntl.h>
#include <fstream>
#include <iterator>
#include <mutex>
#include <new>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <ctime>
#include <unistd.h>
#include <vector>

#include "frames.h"
#include "kernel.h"
#include "policy.h"

namespace numa {
namespace {

// The arrays of a thread's move_pages calls, kept from one call to the next:
// new arrays of this size are new mappings each time, and their page faults
// (in our writes and in the kernel's) cost a migration ~20 ns per page, more
// than all of numaplace's other work (benchmarks/suites/overhead.js). At most
// 384 KiB per thread that ever moved or queried a large range (kChunkPages
// addresses for queries and for moves, targets and read-back statuses).
template <typename T>
T* kept_array(std::vector<T>& array, size_t count) {
  if (array.size() < count) array.resize(count);
  return array.data();
}

bool kernel_says_absent(int32_t status) { return status == -ENOENT || status == -EFAULT; }

// /proc/self/pagemap, opened once per process: an open is a path walk and a
// new procfs file, three times the cost of the 1-page move_pages query it
// would accompany on kernels that need the zero-page scan. A forked child
// drops it (it shows the pages of the process that opened it) and opens its own.
std::mutex pagemap_lock;
int pagemap = -1;

int pagemap_fd() {
  std::lock_guard<std::mutex> hold(pagemap_lock);
  if (pagemap < 0) {
    static const bool forget_in_children = pthread_atfork(nullptr, nullptr, [] {
      if (pagemap >= 0) close(pagemap);
      pagemap = -1;
    }) == 0;
    if (!forget_in_children) return -ENOMEM;  // pthread_atfork's only error
    pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    if (pagemap < 0) return -errno;
  }
  return pagemap;
}

int read_pagemap(uintptr_t first_page, size_t count, uint64_t* entries) {
  int fd = pagemap_fd();
  if (fd < 0) return fd;
  size_t want = count * sizeof(uint64_t);
  off_t offset = off_t(first_page / page_size() * sizeof(uint64_t));
  char* out = reinterpret_cast<char*>(entries);
  int result = 0;
  while (want > 0) {
    ssize_t got = pread(fd, out, want, offset);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      result = got < 0 ? -errno : -EIO;
      break;
    }
    out += got;
    offset += got;
    want -= size_t(got);
  }
  return result;
}

// Calls found(first, end) for every run of pages [first, end) of the span
// whose pages all have `category` (PAGEMAP_SCAN, Linux 6.7+, unprivileged).
template <typename Found>
int scan_pages(PageSpan span, uint64_t category, Found found) {
  int fd = pagemap_fd();
  if (fd < 0) return fd;
  page_region regions[64];
  pm_scan_arg scan = {};
  scan.size = sizeof scan;
  scan.start = span.start;
  scan.end = span.start + span.count * page_size();
  scan.vec = reinterpret_cast<uintptr_t>(regions);
  scan.vec_len = std::size(regions);
  scan.category_mask = category;
  scan.return_mask = category;
  while (scan.start < scan.end) {
    long regions_found = ioctl(fd, PAGEMAP_SCAN, &scan);
    if (regions_found < 0 && errno == EINTR) continue;
    if (regions_found < 0) return -errno;
    for (long i = 0; i < regions_found; i++)
      found(size_t((regions[i].start - span.start) / page_size()), size_t((regions[i].end - span.start) / page_size()));
    if (scan.walk_end <= scan.start) break;  // no progress: never loop forever
    scan.start = scan.walk_end;
  }
  return 0;
}

// Runs of pages [first, end) of a chunk that huge pages map.
using PageRuns = std::vector<std::pair<size_t, size_t>>;

// Set once PAGEMAP_SCAN turns out to be missing (before Linux 6.7).
std::atomic<bool> huge_pages_unseen{false};

// The runs of the chunk that huge pages map; none where the kernel cannot
// show them, and then the chunk moves page by page, as a raw caller's does.
void find_huge_runs(PageSpan chunk, PageRuns& runs) {
  runs.clear();
  if (huge_page_size() == 0 || huge_pages_unseen.load(std::memory_order_relaxed)) return;
  int err = scan_pages(chunk, PAGE_IS_HUGE, [&](size_t first, size_t end) { runs.emplace_back(first, end); });
  if (err == -ENOTTY || err == -EINVAL) huge_pages_unseen.store(true, std::memory_order_relaxed);
  if (err) runs.clear();
}

// The groups of a chunk's pages that one address each moves: each huge page
// in `runs` (move_pages moves its whole folio for any one of its addresses,
// and that address's status tells where the folio went), every other page
// alone. firsts[g] is group g's first page; firsts.back() is chunk.count.
void group_pages(PageSpan chunk, const PageRuns& runs, std::vector<uint32_t>& firsts) {
  firsts.clear();
  const size_t per_huge_page = huge_page_size() / page_size();
  // Huge pages begin on multiples of their size: where in its huge page the chunk's first page lies.
  const size_t offset = chunk.start / page_size() % per_huge_page;
  size_t page = 0;
  for (auto [first, end] : runs) {
    for (; page < first; page++) firsts.push_back(uint32_t(page));
    for (; page < end; page = std::min(end, (page + offset) / per_huge_page * per_huge_page + per_huge_page - offset))
      firsts.push_back(uint32_t(page));
  }
  for (; page < chunk.count; page++) firsts.push_back(uint32_t(page));
  firsts.push_back(uint32_t(chunk.count));
}

// 1 when a page the query found absent has a swap-type entry: it is being
// migrated (or swapped out); 0 when none has; or a negative errno.
int some_in_flux(PageSpan chunk, const int32_t* where) {
  if (std::find(where, where + chunk.count, kNotPresent) == where + chunk.count) return 0;
  std::vector<uint64_t> entries(chunk.count);
  if (int err = read_pagemap(chunk.start, chunk.count, entries.data())) return err;
  for (size_t i = 0; i < chunk.count; i++)
    if (where[i] == kNotPresent && (entries[i] & kPagemapSwapEntry)) return 1;
  return 0;
}

void fill_addresses(PageSpan chunk, void** addresses) {
  const size_t step = page_size();
  for (size_t i = 0; i < chunk.count; i++) addresses[i] = reinterpret_cast<void*>(chunk.start + i * step);
}

// The node of the page at `address`, faulting it in if NUMA balancing has
// made it inaccessible: the fault may also migrate it to this CPU's node.
// Kernel-side access: an unmapped address gives EFAULT, never a crash.
int32_t node_by_fault(uintptr_t address) {
  int node = -1;
  int err = node_of_address(address, &node);
  return err ? err : node;
}

// Faults back in `count` present pages from `start` that NUMA balancing hid,
// so that a move sees them: one MADV_POPULATE_READ for the run (a read fault
// on each page in the kernel, which honours NUMA hinting faults), else one
// get_mempolicy fault per page (before Linux 5.14). Best effort: a page left
// hidden reports itself after the next attempt.
void reveal_pages(uintptr_t start, size_t count) {
  if (madvise(reinterpret_cast<void*>(start), count * page_size(), MADV_POPULATE_READ) == 0) return;
  for (size_t i = 0; i < count; i++) node_by_fault(start + i * page_size());
}

// The node of a hidden page from its frame number, without touching it, or
// kHiddenNodeUnknown (frame numbers need CAP_SYS_ADMIN).
int32_t hidden_page_node(uint64_t entry, FrameNodes& frames) {
  uint64_t frame = entry & kPagemapFrameMask;
  int32_t node = frame ? frames.node_of(frame) : -1;
  return node >= 0 ? node : kHiddenNodeUnknown;
}

// Faults a run of hidden pages back in (reveal_pages) and reads the node of
// those whose frame number did not tell it with one query of the run: the
// fault may have moved them to this CPU's node.
void reveal_run(PageSpan run, int32_t* status) {
  reveal_pages(run.start, run.count);
  if (std::find(status, status + run.count, kHiddenNodeUnknown) == status + run.count) return;
  thread_local std::vector<void*> run_addresses;
  thread_local std::vector<int32_t> run_nodes;
  void** addresses = kept_array(run_addresses, run.count);
  int32_t* nodes = kept_array(run_nodes, run.count);
  fill_addresses(run, addresses);
  if (syscall(SYS_move_pages, 0, run.count, addresses, nullptr, nodes, 0) < 0) return;  // they stay unknown
  for (size_t i = 0; i < run.count; i++)
    if (status[i] == kHiddenNodeUnknown && nodes[i] >= 0) status[i] = nodes[i];
}

// Replaces the kernel's "absent" answers with the truth from pagemap:
// not present, the shared zero page (not the buffer's own, never moved) or a
// present page hidden by NUMA balancing (revealing: faulted back in, a run of
// them at a time).
int resolve_absent(PageSpan span, int32_t* status, QueryStats* stats, HiddenPages hidden) {
  std::vector<uint64_t> entries;
  FrameNodes frames;
  size_t run_start = 0, run_length = 0;  // hidden pages being gathered into a run to reveal
  auto reveal_gathered = [&] {
    if (run_length > 0) reveal_run({span.start + run_start * page_size(), run_length}, status + run_start);
    run_length = 0;
  };
  for (size_t first = 0; first < span.count; first += kChunkPages) {
    size_t n = std::min(kChunkPages, span.count - first);
    if (std::none_of(status + first, status + first + n, kernel_says_absent)) continue;
    entries.resize(n);
    int err = read_pagemap(span.start + first * page_size(), n, entries.data());
    if (err) return err;
    for (size_t i = 0; i < n; i++) {
      int32_t& page_status = status[first + i];
      bool absent = kernel_says_absent(page_status);
      bool own_page = (entries[i] & kPagemapPresent) && (entries[i] & kPagemapExclusive);
      if (hidden == HiddenPages::kReveal && !(absent && own_page)) reveal_gathered();
      if (!absent) continue;
      if (!own_page) {
        page_status = kNotPresent;
        continue;
      }
      page_status = hidden_page_node(entries[i], frames);
      if (stats) stats->hidden++;
      if (hidden == HiddenPages::kReveal && run_length++ == 0) run_start = first + i;
    }
    reveal_gathered();
  }
  return 0;
}

// What move_pages says of a page that was only read, so maps the zero page:
// in a mapping of `bytes` aligned to `bytes` (a huge zero page with MADV_HUGEPAGE).
// -ENOENT where the read gave the page a page of its own (a kernel booted or
// built without the zero page, as one 6.18 build with pvm_no_zero_page=1):
// there is no zero page to correct then.
int32_t status_of_read_page(size_t bytes, int advice) {
  size_t length = 2 * bytes;
  void* mapping = mmap(nullptr, length, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mapping == MAP_FAILED) return -errno;
  uintptr_t start = (reinterpret_cast<uintptr_t>(mapping) + bytes - 1) & ~uintptr_t(bytes - 1);
  void* address = reinterpret_cast<void*>(start);
  madvise(address, bytes, advice);  // advice only: without THP the probe still maps the zero page
  (void)*static_cast<volatile const char*>(address);
  int32_t status = 0;
  long rc = syscall(SYS_move_pages, 0, 1ul, &address, nullptr, &status, 0);
  if (rc < 0) status = -errno;
  uint64_t entry = 0;
  if (read_pagemap(start, 1, &entry) == 0 && (entry & kPagemapExclusive)) status = -ENOENT;
  munmap(mapping, length);
  return status;
}

// When pages of a chunk were left behind they are offered again: at once
// for pages NUMA balancing hid from the move (faulted back in first); after a
// wait for busy pages (locked, under writeback, being migrated by another
// thread or collapsed into a huge page), doubling from 1 ms, about a second in
// all. Not retried: a target out of memory, and a page the kernel reported
// moved that is elsewhere (a huge page whose subpages target different nodes),
// which would not settle.
constexpr int kMoveAttempts = 11;

void wait_before_attempt(int attempt) {
  timespec pause = {0, (1L << (attempt - 2)) * 1000000L};
  nanosleep(&pause, nullptr);
}

// Marks statuses the kernel did not store: when pages fail to migrate it
// returns their count and stops without storing statuses for the batch.
constexpr int32_t kUnset = INT32_MIN;

// move_pages with one address per group (see group_pages): each group's
// pages get its address's status, or kUnset where the kernel stored none.
// The number of pages not moved, or a negative errno.
long move_groups(void** addresses, const int32_t* nodes, const std::vector<uint32_t>& firsts, int flags, int32_t* status) {
  thread_local std::vector<void*> group_addresses;
  thread_local std::vector<int32_t> group_statuses;
  size_t groups = firsts.size() - 1;
  void** heads = kept_array(group_addresses, groups);
  int32_t* head_status = kept_array(group_statuses, groups);
  for (size_t g = 0; g < groups; g++) heads[g] = addresses[firsts[g]];
  std::fill(head_status, head_status + groups, kUnset);
  long rc = syscall(SYS_move_pages, 0, groups, heads, nodes, head_status, flags);
  if (rc < 0) return -errno;
  for (size_t g = 0; g < groups; g++) std::fill(status + firsts[g], status + firsts[g + 1], head_status[g]);
  return rc;
}

// Another attempt at a chunk offers the kernel only the pages the last one
// left off their targets (status[i] != nodes[i]): the others would cost it a
// walk for nothing (under NUMA balancing, every page of a chunk but the
// hidden ones). Their statuses as move_pages gives them, kUnset where it
// stores none; the number of pages not moved, or a negative errno.
long move_left_behind(size_t count, void** addresses, const int32_t* nodes, int flags, int32_t* status) {
  thread_local std::vector<uint32_t> pages;
  thread_local std::vector<void*> page_addresses;
  thread_local std::vector<int32_t> page_nodes;
  thread_local std::vector<int32_t> page_statuses;
  pages.clear();
  for (size_t i = 0; i < count; i++)
    if (status[i] != nodes[i]) pages.push_back(uint32_t(i));
  size_t n = pages.size();
  void** to_move = kept_array(page_addresses, n);
  int32_t* targets = kept_array(page_nodes, n);
  int32_t* moved = kept_array(page_statuses, n);
  for (size_t k = 0; k < n; k++) {
    to_move[k] = addresses[pages[k]];
    targets[k] = nodes[pages[k]];
  }
  std::fill(moved, moved + n, kUnset);
  long rc = syscall(SYS_move_pages, 0, n, to_move, targets, moved, flags);
  if (rc < 0) return -errno;
  for (size_t k = 0; k < n; k++) status[pages[k]] = moved[k];
  return rc;
}

// After a move by groups: a group whose pages one huge page still maps has
// them all where its status says; of any other group (its huge page split
// since the scan) only the first page's status is known, the rest kUnset to
// be read back. `whole`: the first pages of the groups still whole.
void settle_groups(PageSpan chunk, const std::vector<uint32_t>& firsts, int32_t* status, std::vector<uint32_t>& whole) {
  thread_local PageRuns huge_after;
  find_huge_runs(chunk, huge_after);
  whole.clear();
  auto run = huge_after.begin();
  for (size_t g = 0; g + 1 < firsts.size(); g++) {
    size_t first = firsts[g], end = firsts[g + 1];
    if (end - first == 1) continue;
    while (run != huge_after.end() && run->second <= first) ++run;
    if (run != huge_after.end() && run->first <= first && end <= run->second)
      whole.push_back(uint32_t(first));
    else
      std::fill(status + first + 1, status + end, kUnset);
  }
}

// Moves one chunk; its statuses tell where each page is afterwards, read back
// from the kernel: the kernel's own statuses can be incomplete (see kUnset)
// or stale (a huge page moves as a whole; NUMA balancing moves pages too).
// A page left on another node keeps the kernel's error code, or reports the
// node it is on when the kernel gave none.
// `one_target`: every entry of `nodes` is nodes[0].
int move_chunk(PageSpan chunk, void** addresses, int32_t* nodes, bool one_target, int flags,
               const int32_t* before, int32_t* status, QueryStats* stats) {
  thread_local std::vector<int32_t> read_back;
  thread_local PageRuns huge_runs;
  thread_local std::vector<uint32_t> groups;
  thread_local std::vector<uint32_t> whole_huge_pages;  // their first pages
  int32_t* where = kept_array(read_back, chunk.count);
  auto done = [&] {
    if (stats) {
      for (uint32_t first : whole_huge_pages) stats->huge_pages += status[first] == nodes[0];
    }
    return 0;
  };
  bool busy = false;
  for (int attempt = 1;; attempt++) {
    if (busy) wait_before_attempt(attempt);
    // Huge pages by one address each: the kernel's per-address walk of their
    // other pages would only find each already moved with the first.
    huge_runs.clear();
    if (attempt == 1) whole_huge_pages.clear();
    if (one_target && attempt == 1) find_huge_runs(chunk, huge_runs);
    long rc;
    if (attempt > 1) {
      rc = move_left_behind(chunk.count, addresses, nodes, flags, status);
    } else if (huge_runs.empty()) {
      std::fill(status, status + chunk.count, kUnset);
      rc = syscall(SYS_move_pages, 0, chunk.count, addresses, nodes, status, flags);
      if (rc < 0) rc = -errno;
    } else {
      group_pages(chunk, huge_runs, groups);
      rc = move_groups(addresses, nodes, groups, flags, status);
    }
    if (rc < 0) {
      // The target node ran out of memory: the kernel stops the batch without
      // statuses. Pages found elsewhere afterwards are reported as ENOMEM.
      if (rc != -ENOMEM) return int(rc);
      std::fill(status, status + chunk.count, -ENOMEM);
    }
    if (!huge_runs.empty()) settle_groups(chunk, groups, status, whole_huge_pages);
    // A zero page is nobody's page to move, whatever node the kernel names for it.
    if (kernel_reports_zero_page_node()) {
      if (int err = mark_zero_pages(chunk, status)) return err;
    }
    // With one target for all pages, a status equal to it is the kernel's own
    // report that the page is there (no huge page can be torn between targets):
    // when every page has it, the read-back below would only repeat it.
    if (one_target && size_t(std::count(status, status + chunk.count, nodes[0])) == chunk.count) return done();
    // Read back without touching: a fault on a page already on its target
    // could make NUMA balancing move it away again. With one target, when the
    // only pages off it are ones the kernel could not find (never written, the
    // zero page, or hidden by NUMA balancing), pagemap tells which without a
    // second walk of the chunk; any other answer is read back in full.
    bool only_absent_left = one_target;
    for (size_t i = 0; i < chunk.count && only_absent_left; i++)
      only_absent_left = status[i] == nodes[i] || kernel_says_absent(status[i]);
    if (only_absent_left) {
      std::copy(status, status + chunk.count, where);
      if (int err = resolve_absent(chunk, where, stats, HiddenPages::kLookUp)) return err;
    } else if (int err = query_nodes(chunk, where, stats)) {
      return err;
    }
    bool worth_retrying = false;
    busy = false;
    size_t hidden_run = 0;  // hidden pages just before page i, faulted in as one run
    auto reveal_run_before = [&](size_t i) {
      if (hidden_run > 0) reveal_pages(chunk.start + (i - hidden_run) * page_size(), hidden_run);
      hidden_run = 0;
    };
    for (size_t i = 0; i < chunk.count; i++) {
      bool unknown = where[i] == kHiddenNodeUnknown;
      bool elsewhere = where[i] >= 0 && where[i] != nodes[i];
      bool kernel_failed = status[i] < 0;  // an errno, or kUnset
      bool left_behind = (elsewhere || unknown) && kernel_failed;
      // Hidden from the move by NUMA balancing (the kernel answered EFAULT or
      // ENOENT): faulting it back in lets the next attempt move it.
      bool hidden = left_behind && (unknown || kernel_says_absent(status[i]));
      if (hidden) {
        hidden_run++;
        worth_retrying = true;
      } else {
        reveal_run_before(i);
        if (left_behind && status[i] != -ENOMEM) worth_retrying = busy = true;
      }
      // Present before or during the move but absent now: in flux (a huge page
      // being collapsed or split, a page another thread is migrating): look again.
      bool was_present = !kernel_says_absent(status[i]) || (before && before[i] != kNotPresent);
      if (where[i] == kNotPresent && was_present) worth_retrying = busy = true;
      bool kernel_error_stands = elsewhere && kernel_failed && status[i] != kUnset;
      // Hidden since the move with its node unreadable: the kernel's own status is the best answer.
      bool kernel_status_stands = unknown && status[i] != kUnset;
      if (!kernel_error_stands && !kernel_status_stands) status[i] = where[i];
    }
    reveal_run_before(chunk.count);
    // A page another thread is migrating reads as absent for a moment.
    if (!worth_retrying && attempt < kMoveAttempts) {
      int in_flux = some_in_flux(chunk, where);
      if (in_flux < 0) return in_flux;
      worth_retrying = busy = in_flux > 0;
    }
    if (!worth_retrying || attempt == kMoveAttempts) return done();
  }
}

}  // namespace

size_t page_size() {
  static const size_t size = size_t(sysconf(_SC_PAGESIZE));
  return size;
}

size_t huge_page_size() {
  static const size_t size = [] {
    size_t bytes = 0;
    std::ifstream("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size") >> bytes;
    return bytes;
  }();
  return size;
}

PageSpan span_of(uintptr_t address, size_t length) {
  if (length == 0) return {address & ~(page_size() - 1), 0};
  uintptr_t start = address & ~(page_size() - 1);
  uintptr_t end = (address + length + page_size() - 1) & ~(page_size() - 1);
  return {start, (end - start) / page_size()};
}

int query_nodes(PageSpan span, int32_t* status, QueryStats* stats, HiddenPages hidden) try {
  thread_local std::vector<void*> query_addresses;
  void** addresses = kept_array(query_addresses, std::min(kChunkPages, span.count));
  for (size_t first = 0; first < span.count; first += kChunkPages) {
    PageSpan chunk = {span.start + first * page_size(), std::min(kChunkPages, span.count - first)};
    fill_addresses(chunk, addresses);
    if (syscall(SYS_move_pages, 0, chunk.count, addresses, nullptr, status + first, 0) < 0)
      return -errno;
  }
  if (int err = resolve_absent(span, status, stats, hidden)) return err;
  return kernel_reports_zero_page_node() ? mark_zero_pages(span, status) : 0;
} catch (const std::bad_alloc&) {
  return -ENOMEM;
}

int move_to_nodes(PageSpan span, const int32_t* targets, int node, int flags, const int32_t* before,
                  int32_t* status, QueryStats* stats) try {
  thread_local std::vector<void*> move_addresses;
  thread_local std::vector<int32_t> move_nodes;
  void** addresses = kept_array(move_addresses, std::min(kChunkPages, span.count));
  int32_t* nodes = kept_array(move_nodes, std::min(kChunkPages, span.count));
  for (size_t first = 0; first < span.count; first += kChunkPages) {
    PageSpan chunk = {span.start + first * page_size(), std::min(kChunkPages, span.count - first)};
    fill_addresses(chunk, addresses);
    if (targets)
      std::copy(targets + first, targets + first + chunk.count, nodes);
    else
      std::fill(nodes, nodes + chunk.count, node);
    bool one_target = !targets || std::all_of(nodes, nodes + chunk.count, [&](int32_t to) { return to == nodes[0]; });
    if (int err = move_chunk(chunk, addresses, nodes, one_target, flags, before ? before + first : nullptr,
                             status + first, stats))
      return err;
  }
  return 0;
} catch (const std::bad_alloc&) {
  return -ENOMEM;
}

bool kernel_reports_zero_page_node() {
  static const bool reports = status_of_read_page(page_size(), MADV_NOHUGEPAGE) >= 0 ||
                              status_of_read_page(size_t(2) << 20, MADV_HUGEPAGE) >= 0;
  return reports;
}

int mark_zero_pages(PageSpan span, int32_t* status) {
  return scan_pages(span, PAGE_IS_PFNZERO, [&](size_t first, size_t end) { std::fill(status + first, status + end, kNotPresent); });
}

int prefault_write(PageSpan span) {
  if (span.count == 0) return 0;
  if (madvise(reinterpret_cast<void*>(span.start), span.count * page_size(),
              MADV_POPULATE_WRITE) != 0)
    return -errno;
  return 0;
}

}  // namespace numa
