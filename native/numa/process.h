// Whole-process migration: every page of a process on some nodes moved to
// others, at once (migrate_pages) or range by range (move_pages on the
// process's pages), which lets a caller pace it. Plain C++.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "policy.h"

namespace numa {

// migrate_pages: returns the number of pages that could not be moved, or a negative errno.
long migrate_process(int pid, const NodeMask& from, const NodeMask& to);

// A range of another process's memory (or this one's: pid 0) whose pages go
// from the nodes they are on to other nodes.
struct ProcessRange {
  int pid = 0;
  uintptr_t start = 0;     // aligned to page_bytes
  size_t count = 0;        // pages of page_bytes, at most kChunkPages
  size_t page_bytes = 0;   // the mapping's page size: page_size(), or a hugetlb page's
  uintptr_t mapping_end = 0;  // the end of the mapping the range lies in (see move_process_range)
  // targets[node]: where the pages on `node` go, or -1 for pages that stay.
  std::vector<int32_t> targets;
  bool move_all = false;   // MPOL_MF_MOVE_ALL: also pages shared with other processes
  size_t max_moves = 0;    // move at most this many (0: all), from the range's start
};

struct ProcessRangeOutcome {
  int error = 0;                  // 0 or a negative errno
  const char* syscall = nullptr;  // the call that failed
  size_t pages = 0;               // of the range, handled from its start (a hole: past its end, see move_process_range)
  size_t moved = 0;               // pages now on their target
  // Present pages of those handled that NUMA balancing hid from the kernel's
  // query and that could not be faulted back in (the reading needs ptrace
  // access): left where they are, whatever node they are on.
  size_t hidden = 0;
  // The pages that were to move and are not on their target afterwards, by the
  // kernel's status (a negative errno, or the node it left them on), and by the
  // node they are on (read back).
  std::map<int32_t, size_t> failed;
  std::map<int32_t, size_t> elsewhere;
  std::vector<uint64_t> call_ns;  // the move_pages call's time
};

// Moves the range's pages that are on a node with a target (move_pages on
// process `pid`): queried first, hidden pages faulted back in, at most
// max_moves of them moved in one call, read back. A range that starts in a
// hole of its mapping (no page present or swapped out) is handled up to the
// hole's end instead, which may lie past the range, up to mapping_end: a
// sparse mapping (ASan's shadow memory, a large reservation written here and
// there) is crossed in one step where the kernel can find its pages (Linux 6.7+).
ProcessRangeOutcome move_process_range(const ProcessRange& range);

}  // namespace numa
