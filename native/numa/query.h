// Which node each page of a range is on, as the truth: the kernel's query
// (move_pages with no targets), its "absent" answers checked against
// /proc/self/pagemap so that a present page is never reported as not present,
// and zero pages reported as not present on every kernel.
#pragma once

#include <cerrno>
#include <cstdint>

#include "span.h"

namespace numa {

// What to do with a present page NUMA balancing hid from the kernel's query.
enum class HiddenPages {
  kLookUp,  // read its node from its frame number where visible; never touch it
  kReveal,  // also fault it back in so that a move can see it (the fault may move it)
};

// How the truth about pages was established.
struct QueryStats {
  size_t hidden = 0;  // present pages the kernel's query did not show (NUMA balancing)
};

// The kernel's word for a page it did not find: -ENOENT (Linux 6.2+) or -EFAULT (6.1).
inline bool kernel_says_absent(int32_t status) { return status == -ENOENT || status == -EFAULT; }

// status[i] = node of page i, or a negative errno. Pages the kernel reports as
// absent are checked against /proc/self/pagemap so a present page is never
// reported as not present; pages that map the shared zero page are
// kNotPresent whatever the kernel says of them.
int query_nodes(PageSpan span, int32_t* status, QueryStats* stats, HiddenPages hidden = HiddenPages::kLookUp);

// Replaces the kernel's "absent" answers in `status` with the truth from
// pagemap: not present, the shared zero page (not the buffer's own, never
// moved) or a present page hidden by NUMA balancing (with kReveal, faulted
// back in, a run of them at a time).
int resolve_absent(PageSpan span, int32_t* status, QueryStats* stats, HiddenPages hidden);

// Faults back in the present pages of `span` that NUMA balancing hid, so that
// a move sees them. Best effort: a page left hidden shows after the next move.
void reveal_pages(PageSpan span);

// Whether this kernel's move_pages reports a node for a page that maps the
// shared zero page (some 6.18 builds) rather than -EFAULT or -ENOENT (6.1,
// 6.12). Probed once per process on a scratch mapping.
bool kernel_reports_zero_page_node();

}  // namespace numa
