#include "migrate.h"

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <new>

namespace numa {
namespace {

uint64_t monotonic_ns() {
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return uint64_t(now.tv_sec) * 1000000000u + uint64_t(now.tv_nsec);
}

MigrationCounts count(const Migration& request, const int32_t* before, const int32_t* after) {
  MigrationCounts counts;
  const int32_t* end = after + request.span.count;
  // The common outcome, every page on the node, in one pass the compiler vectorises.
  counts.on_node = size_t(std::count(after, end, request.node));
  for (size_t i = 0; before && i < request.span.count; i++)
    counts.moved += after[i] == request.node && before[i] != request.node;
  if (counts.on_node == request.span.count) return counts;
  for (const int32_t* page = after; page < end; page++) {
    if (*page == kNotPresent)
      counts.not_present++;
    else if (*page != request.node)
      counts.failed[*page]++;
  }
  return counts;
}

}  // namespace

MigrationOutcome migrate(const Migration& request, int32_t* after) try {
  MigrationOutcome outcome;
  uint64_t started = monotonic_ns();
  auto fail = [&](int error, const char* syscall) {
    outcome.error = error;
    outcome.syscall = syscall;
    outcome.elapsed_ns = monotonic_ns() - started;
    return outcome;
  };
  if (request.prefault) {
    if (int err = prefault_write(request.span)) return fail(err, "madvise");
  }
  std::vector<int32_t> before;
  if (request.count_moved) {
    // Pages hidden by NUMA balancing are faulted back in so that the move sees them.
    before.resize(request.span.count);
    if (int err = query_nodes(request.span, before.data(), &outcome.stats, HiddenPages::kReveal))
      return fail(err, "move_pages");
  }
  const int32_t* targets = request.targets.empty() ? nullptr : request.targets.data();
  const int32_t* was = before.empty() ? nullptr : before.data();
  if (int err = move_to_nodes(request.span, targets, request.node, request.flags, was, after, &outcome.stats))
    return fail(err, "move_pages");
  if (!targets) outcome.counts = count(request, was, after);
  outcome.elapsed_ns = monotonic_ns() - started;
  return outcome;
} catch (const std::bad_alloc&) {
  MigrationOutcome outcome;
  outcome.error = -ENOMEM;
  outcome.syscall = "move_pages";
  return outcome;
}

}  // namespace numa
