// Moving a range's pages to nodes (move_pages): a whole migration with its
// optional prefault and query before, each chunk's move read back from the
// kernel, and the pages left behind offered again.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "query.h"

namespace numa {

// What a caller may ask of a migration, the same for every chunk of it.
struct MoveOptions {
  bool move_all = false;  // also pages shared with other processes (MPOL_MF_MOVE_ALL)
  bool prefault = false;  // give never-written pages a page of their own first
  // Query every page before the move, to tell moved pages from pages already
  // on the target: the kernel's answer is the same for both. Costs a second
  // walk of the range, about as long as a same-node move.
  bool count_moved = false;
  // How often a chunk's pages the kernel could not move (busy, pinned, held)
  // are offered again, and the pause before each time. The kernel has already
  // retried them inside its own call, so by default once, at once.
  unsigned retries = 1;
  unsigned retry_delay_ms = 0;
  // Paced (0: not): move at most this many pages that are elsewhere, from the
  // span's first page on, and time every move_pages call. The span is queried
  // first (as with count_moved) and cut after those pages; the outcome says
  // how many of its pages were handled. So a caller can size each call.
  size_t max_moves = 0;
};

struct Migration {
  PageSpan span{};
  std::vector<int32_t> targets;  // one node per page, or empty to use `node`
  int node = 0;
  MoveOptions options;
};

// How a move ended, page by page, read back from the kernel.
struct MigrationCounts {
  size_t on_node = 0;      // on their target afterwards
  size_t moved = 0;        // of those, elsewhere before (count_moved only)
  size_t not_present = 0;  // no page of its own (never written, or the zero page)
  std::map<int32_t, std::vector<uint32_t>> failed;  // the pages elsewhere afterwards, by final status
};

// How the truth about a move was established.
struct MoveStats : QueryStats {
  // Huge pages a move found mapped whole before and after it: moved by one
  // address each, the status of that address standing for all their pages.
  size_t huge_pages = 0;
  size_t calls = 0;  // move_pages calls that moved pages (the queries not counted)
  // Pages on another node than their target after the move, by that node
  // (read back): left behind, or put there by the kernel.
  std::map<int32_t, size_t> elsewhere;
};

struct MigrationOutcome {
  int error = 0;                  // 0 or a negative errno
  const char* syscall = nullptr;  // the call that failed
  uint64_t elapsed_ns = 0;
  MoveStats stats;  // over the queries before and after the move
  MigrationCounts counts;
  size_t pages = 0;               // of the span, handled (fewer than asked when paced)
  std::vector<uint64_t> call_ns;  // every move_pages call's time, when paced
};

// after[i]: where page i is after the move (read back from the kernel), or a
// negative errno: kNotPresent, or the kernel's reason for a page left on
// another node; room for span.count entries, outcome.pages of them written.
MigrationOutcome migrate(const Migration& request, int32_t* after);

}  // namespace numa
