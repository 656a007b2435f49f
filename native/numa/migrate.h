// A whole migration of a range: optional prefault, where the pages were,
// the move itself and how long it took.
#pragma once

#include <cstdint>
#include <vector>

#include "pages.h"

namespace numa {

struct Migration {
  PageSpan span{};
  std::vector<int32_t> targets;  // one node per page, or empty to use `node`
  int node = 0;
  int flags = 0;  // MPOL_MF_MOVE or MPOL_MF_MOVE_ALL
  bool prefault = false;
};

struct MigrationOutcome {
  int error = 0;                  // 0 or a negative errno
  const char* syscall = nullptr;  // the call that failed
  uint64_t elapsed_ns = 0;
  QueryStats stats;  // over the queries before and after the move
};

// before[i]: the page's node before the move; after[i]: where it is after
// the move, or why it is not on its target (see move_to_nodes).
// Both arrays hold span.count entries.
MigrationOutcome migrate(const Migration& request, int32_t* before, int32_t* after);

}  // namespace numa
