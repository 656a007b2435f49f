#include "span.h"

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <fstream>
#include <sys/mman.h>
#include <unistd.h>

#include "kernel.h"

namespace numa {

size_t page_size() {
  static const size_t size = size_t(sysconf(_SC_PAGESIZE));
  return size;
}

size_t huge_page_size() {
  static const size_t size = [] {
    size_t bytes = 0;
    std::ifstream("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size") >> bytes;
    return bytes;
  }();
  return size;
}

uint64_t monotonic_ns() {
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return uint64_t(now.tv_sec) * 1000000000u + uint64_t(now.tv_nsec);
}

PageSpan span_of(uintptr_t address, size_t length) {
  if (length == 0) return {address & ~(page_size() - 1), 0};
  uintptr_t start = address & ~(page_size() - 1);
  uintptr_t end = (address + length + page_size() - 1) & ~(page_size() - 1);
  return {start, (end - start) / page_size()};
}

PageSpan chunk_of(PageSpan span, size_t first) {
  return {span.start + first * page_size(), std::min(kChunkPages, span.count - first)};
}

void fill_addresses(PageSpan span, void** addresses) {
  const size_t step = page_size();
  for (size_t i = 0; i < span.count; i++) addresses[i] = reinterpret_cast<void*>(span.start + i * step);
}

int prefault_write(PageSpan span) {
  if (span.count == 0) return 0;
  if (madvise(reinterpret_cast<void*>(span.start), span.count * page_size(), MADV_POPULATE_WRITE) != 0) return -errno;
  return 0;
}

}  // namespace numa
