// Page-level NUMA operations on a virtual address range of this process.
// Plain C++: no Node-API here, so the same code runs on the JS thread and on
// libuv pool threads. Functions return 0 or a negative errno; they never throw.
#pragma once

#include <cstddef>
#include <cstdint>

namespace numa {

// The whole pages covered by [address, address + length).
struct PageSpan {
  uintptr_t start;  // page-aligned
  size_t count;     // number of pages; 0 for an empty range
};

size_t page_size();
// The size of a transparent huge page (PMD), or 0 without THP.
size_t huge_page_size();

// Pages per move_pages call: bounds the temporary arrays (16384 pages = 64 MiB
// of 4 KiB pages needs 192 KiB of arrays) without measurable extra syscall cost.
constexpr size_t kChunkPages = 16384;
PageSpan span_of(uintptr_t address, size_t length);

// Per-page status values beyond node ids and the kernel's negative errnos.
// Every page the process has no page of its own for (never touched, or only
// the shared zero page) is reported as kNotPresent on every kernel version.
constexpr int32_t kNotPresent = -2;  // -ENOENT
// A present page NUMA balancing hid from the kernel's query whose node could
// not be read without touching it (no CAP_SYS_ADMIN for frame numbers).
// Below -4095, so never a kernel errno.
constexpr int32_t kHiddenNodeUnknown = -4096;

// What to do with a present page NUMA balancing hid from the kernel's query.
enum class HiddenPages {
  kLookUp,  // read its node from its frame number where visible; never touch it
  kReveal,  // also fault it back in so that a move can see it (the fault may move it)
};

// Counts of how the truth about pages was established.
struct QueryStats {
  size_t hidden = 0;  // present pages the kernel's query did not show (NUMA balancing)
  // Huge pages a move found mapped whole before and after it: moved by one
  // address each, the status of that address standing for all their pages.
  size_t huge_pages = 0;
};

// status[i] = node of page i, or a negative errno. Pages the kernel reports as
// absent are checked against /proc/self/pagemap so a present page is never
// reported as not present; pages that map the shared zero page are
// kNotPresent whatever the kernel says of them.
int query_nodes(PageSpan span, int32_t* status, QueryStats* stats,
                HiddenPages hidden = HiddenPages::kLookUp);

// Moves page i to targets[i] (or every page to `node` when targets is null).
// before[i], or null: its status from query_nodes just before (a page present
// then and absent after the move is in flux, and looked at again).
// status[i]: the node the page is on afterwards (read back from the kernel),
// or a negative errno: kNotPresent, or the kernel's reason for a page left
// on another node. `flags` are MPOL_MF_* bits. Busy pages are retried.
// With one node for every page, a huge page the kernel maps whole is given to
// move_pages by one address (Linux 6.7+, where PAGEMAP_SCAN shows them).
int move_to_nodes(PageSpan span, const int32_t* targets, int node, int flags, const int32_t* before,
                  int32_t* status, QueryStats* stats);

// Whether this kernel's move_pages reports a node for a page that maps the
// shared zero page (some 6.18 builds) rather than -EFAULT or -ENOENT (6.1,
// 6.12). Probed once per process on a scratch mapping.
bool kernel_reports_zero_page_node();

// Sets status[i] = kNotPresent for every page of the span that maps the shared
// zero page or the huge zero page (PAGEMAP_SCAN, Linux 6.7+, unprivileged).
int mark_zero_pages(PageSpan span, int32_t* status);

// Populates every page of the span with a page of its own without changing
// its contents (MADV_POPULATE_WRITE, Linux 5.14+).
int prefault_write(PageSpan span);

}  // namespace numa
