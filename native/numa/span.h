// The ground floor of the page operations: the whole pages a range covers,
// the page sizes, and what a page's status can say. Plain C++: no Node-API in
// native/numa/, so the same code runs on the JS thread and on libuv pool
// threads. Functions return 0 or a negative errno; they never throw.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

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

// A status move_pages did not store: when pages of a batch fail to migrate
// it returns their count and stores no status for the batch (status arrays
// are filled with this before the call, to tell).
constexpr int32_t kUnset = INT32_MIN;

// The time of CLOCK_MONOTONIC in nanoseconds.
uint64_t monotonic_ns();

// The chunk of `span` from page `first`: at most kChunkPages pages.
PageSpan chunk_of(PageSpan span, size_t first);

// The address of every page of the span, in order.
void fill_addresses(PageSpan span, void** addresses);

// An array a thread keeps from one call to the next, grown to `count`: new
// arrays of a chunk's size are new mappings each time, and their page faults
// (in our writes and in the kernel's) cost a migration more than all of
// numaplace's other work per page (benchmarks/suites/overhead.js).
template <typename T>
T* kept_array(std::vector<T>& array, size_t count) {
  if (array.size() < count) array.resize(count);
  return array.data();
}

// Populates every page of the span with a page of its own without changing
// its contents (MADV_POPULATE_WRITE, Linux 5.14+).
int prefault_write(PageSpan span);

}  // namespace numa
