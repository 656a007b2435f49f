// A whole migration of a range: optional prefault, optionally where the pages
// were, the move itself, how it ended for each page and how long it took.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "pages.h"

namespace numa {

struct Migration {
  PageSpan span{};
  std::vector<int32_t> targets;  // one node per page, or empty to use `node`
  int node = 0;
  int flags = 0;  // MPOL_MF_MOVE or MPOL_MF_MOVE_ALL
  bool prefault = false;
  // Query every page before the move, to tell moved pages from pages already
  // on the target: the kernel's answer is the same for both. Costs a second
  // walk of the range, about as long as a same-node move.
  bool count_moved = false;
};

// How a move to one node ended, page by page, read back from the kernel.
struct MigrationCounts {
  size_t on_node = 0;      // on the target afterwards
  size_t moved = 0;        // of those, elsewhere before (count_moved only)
  size_t not_present = 0;  // no page of its own (never written, or the zero page)
  std::map<int32_t, size_t> failed;  // elsewhere afterwards, by final status
};

struct MigrationOutcome {
  int error = 0;                  // 0 or a negative errno
  const char* syscall = nullptr;  // the call that failed
  uint64_t elapsed_ns = 0;
  QueryStats stats;  // over the queries before and after the move
  MigrationCounts counts;  // with one target (targets empty)
};

// after[i]: where page i is after the move, or why it is not on its target
// (see move_to_nodes); span.count entries.
MigrationOutcome migrate(const Migration& request, int32_t* after);

}  // namespace numa
