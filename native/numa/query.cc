#include "query.h"

#include <algorithm>
#include <new>
#include <sys/mman.h>
#include <unistd.h>
#include <vector>

#include "kernel.h"
#include "pagemap.h"
#include "policy.h"

namespace numa {
namespace {

// The kernel's query: move_pages with no targets writes each page's node, or
// why it has none, into status. 0 or a negative errno.
int kernel_query(size_t count, void** addresses, int32_t* status) {
  return syscall(SYS_move_pages, 0, count, addresses, nullptr, status, 0) < 0 ? -errno : 0;
}

// The node of the page at `address`, faulting it in if NUMA balancing has
// made it inaccessible: the fault may also migrate it to this CPU's node.
// Kernel-side access: an unmapped address gives EFAULT, never a crash.
int32_t node_by_fault(uintptr_t address) {
  int node = -1;
  int err = node_of_address(address, &node);
  return err ? err : node;
}

// Faults a run of hidden pages back in (reveal_pages) and reads the node of
// those whose frame number did not tell it with one query of the run: the
// fault may have moved them to this CPU's node.
void reveal_run(PageSpan run, int32_t* status) {
  reveal_pages(run);
  if (std::find(status, status + run.count, kHiddenNodeUnknown) == status + run.count) return;
  thread_local std::vector<void*> run_addresses;
  thread_local std::vector<int32_t> run_nodes;
  void** addresses = kept_array(run_addresses, run.count);
  int32_t* nodes = kept_array(run_nodes, run.count);
  fill_addresses(run, addresses);
  if (kernel_query(run.count, addresses, nodes) != 0) return;  // they stay unknown
  for (size_t i = 0; i < run.count; i++)
    if (status[i] == kHiddenNodeUnknown && nodes[i] >= 0) status[i] = nodes[i];
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
  if (int err = kernel_query(1, &address, &status)) status = err;
  uint64_t entry = 0;
  if (read_pagemap(start, 1, &entry) == 0 && (entry & kPagemapExclusive)) status = -ENOENT;
  munmap(mapping, length);
  return status;
}

}  // namespace

void reveal_pages(PageSpan span) {
  // One MADV_POPULATE_READ for the run (a read fault on each page in the
  // kernel, which honours NUMA hinting faults), else one get_mempolicy fault
  // per page (before Linux 5.14).
  if (madvise(reinterpret_cast<void*>(span.start), span.count * page_size(), MADV_POPULATE_READ) == 0) return;
  for (size_t i = 0; i < span.count; i++) node_by_fault(span.start + i * page_size());
}

int resolve_absent(PageSpan span, int32_t* status, QueryStats* stats, HiddenPages hidden) {
  std::vector<uint64_t> entries;
  FrameNodes frames;
  size_t run_start = 0, run_length = 0;  // hidden pages being gathered into a run to reveal
  auto reveal_gathered = [&] {
    if (run_length > 0) reveal_run({span.start + run_start * page_size(), run_length}, status + run_start);
    run_length = 0;
  };
  for (size_t first = 0; first < span.count; first += kChunkPages) {
    size_t n = chunk_of(span, first).count;
    if (std::none_of(status + first, status + first + n, kernel_says_absent)) continue;
    entries.resize(n);
    if (int err = read_pagemap(span.start + first * page_size(), n, entries.data())) return err;
    for (size_t i = 0; i < n; i++) {
      int32_t& page_status = status[first + i];
      bool absent = kernel_says_absent(page_status);
      bool own = own_page(entries[i]);
      if (hidden == HiddenPages::kReveal && !(absent && own)) reveal_gathered();
      if (!absent) continue;
      if (!own) {
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

int query_nodes(PageSpan span, int32_t* status, QueryStats* stats, HiddenPages hidden) try {
  thread_local std::vector<void*> query_addresses;
  void** addresses = kept_array(query_addresses, std::min(kChunkPages, span.count));
  for (size_t first = 0; first < span.count; first += kChunkPages) {
    PageSpan chunk = chunk_of(span, first);
    fill_addresses(chunk, addresses);
    if (int err = kernel_query(chunk.count, addresses, status + first)) return err;
  }
  if (int err = resolve_absent(span, status, stats, hidden)) return err;
  return kernel_reports_zero_page_node() ? mark_zero_pages(span, status) : 0;
} catch (const std::bad_alloc&) {
  return -ENOMEM;
}

bool kernel_reports_zero_page_node() {
  static const bool reports = status_of_read_page(page_size(), MADV_NOHUGEPAGE) >= 0 ||
                              status_of_read_page(size_t(2) << 20, MADV_HUGEPAGE) >= 0;
  return reports;
}

}  // namespace numa
