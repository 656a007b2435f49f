// A whole migration of a range: optional prefault, where the pages were,
// the move itself and how long it took.
#pragma once

#include <cstdint>

#include "pages.h"

namespace numa {

struct Migration {
  PageSpan span{};
  const int32_t* targets = nullptr;  // one node per page, or null to use `node`
  int node = 0;
  int flags = 0;  // MPOL_MF_MOVE or MPOL_MF_MOVE_ALL
  bool prefault = false;
};

struct MigrationOutcome {
  int error = 0;                  // 0 or a negative errno
  const char* syscall = nullptr;  // the call that failed
  uint64_t elapsed_ns = 0;
  QueryStats before_stats;
};

// before[i]: the page's node before the move; after[i]: the move's status.
// Both arrays hold span.count entries.
MigrationOutcome migrate(const Migration& request, int32_t* before, int32_t* after);

}  // namespace numa
