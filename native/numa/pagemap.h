// What backs each page, from /proc/self/pagemap, without touching the page:
// whether it is present and the process's own, its frame number (with
// CAP_SYS_ADMIN) and which node that frame belongs to; and, through
// PAGEMAP_SCAN (Linux 6.7+, unprivileged), which pages map the shared zero
// page and which huge pages map whole.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "span.h"

namespace numa {

// The pagemap entries of `count` pages from page-aligned `first_page`.
int read_pagemap(uintptr_t first_page, size_t count, uint64_t* entries);
// The same from process `pid`'s /proc/<pid>/pagemap (pid 0: this process's);
// reading another's needs ptrace access (EACCES otherwise).
int read_process_pagemap(int pid, uintptr_t first_page, size_t count, uint64_t* entries);

// The address of the first page in [start, end) of process `pid` (0: this
// one) that is present or swapped out, `end` when there is none: what lies
// before it holds no page to move or query (PAGEMAP_SCAN, Linux 6.7+, which
// skips unpopulated page tables whole). -ENOTTY before Linux 6.7, -EACCES
// without ptrace access to the process.
int first_populated(int pid, uintptr_t start, uintptr_t end, uintptr_t* first);

// Whether a pagemap entry is a page of the process's own: present and mapped
// by this process alone (the shared zero page is present but not exclusive).
bool own_page(uint64_t entry);

// Sets status[i] = kNotPresent for every page of the span that maps the shared
// zero page or the huge zero page (PAGEMAP_SCAN, Linux 6.7+, unprivileged).
int mark_zero_pages(PageSpan span, int32_t* status);

// Runs of pages [first, end) of a span that huge pages map.
using PageRuns = std::vector<std::pair<size_t, size_t>>;

// The runs of the span that huge pages map; none where the kernel cannot
// show them (before Linux 6.7), and then its pages move one by one.
void find_huge_runs(PageSpan span, PageRuns& runs);

// 1 when a page `where` says is kNotPresent has a swap-type entry: it is
// being migrated (or swapped out); 0 when none has; or a negative errno.
int pages_in_flux(PageSpan span, const int32_t* where);

// Which node a physical page frame belongs to, from the memory blocks each
// node lists in sysfs: the node of a page whose frame number pagemap reveals
// (CAP_SYS_ADMIN) without touching the page.
class FrameNodes {
 public:
  // The node of page frame `pfn`, or -1 when no node lists its memory block.
  int32_t node_of(uint64_t pfn);

 private:
  void load();

  bool loaded_ = false;
  uint64_t frames_per_block_ = 0;
  std::vector<int32_t> block_nodes_;  // indexed by memory block number
};

// The node of a hidden page from its pagemap entry's frame number, without
// touching it, or kHiddenNodeUnknown (frame numbers need CAP_SYS_ADMIN).
int32_t hidden_page_node(uint64_t entry, FrameNodes& frames);

}  // namespace numa
