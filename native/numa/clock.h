// Monotonic clock for elapsed-time reports.
#pragma once

#include <cstdint>
#include <ctime>

namespace numa {

inline uint64_t monotonic_ns() {
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return uint64_t(now.tv_sec) * 1000000000u + uint64_t(now.tv_nsec);
}

}  // namespace numa
