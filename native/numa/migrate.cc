#include "migrate.h"

#include <ctime>

namespace numa {
namespace {

uint64_t monotonic_ns() {
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return uint64_t(now.tv_sec) * 1000000000u + uint64_t(now.tv_nsec);
}

}  // namespace

MigrationOutcome migrate(const Migration& request, int32_t* before, int32_t* after) {
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
  // Pages hidden by NUMA balancing are faulted back in so that the move sees them.
  if (int err = query_nodes(request.span, before, &outcome.stats, HiddenPages::kReveal))
    return fail(err, "move_pages");
  const int32_t* targets = request.targets.empty() ? nullptr : request.targets.data();
  if (int err = move_to_nodes(request.span, targets, request.node, request.flags, before, after, &outcome.stats))
    return fail(err, "move_pages");
  outcome.elapsed_ns = monotonic_ns() - started;
  return outcome;
}

}  // namespace numa
