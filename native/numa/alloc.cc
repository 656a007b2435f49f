#include "alloc.h"

#include <cerrno>
#include <cstdint>
#include <sys/mman.h>

namespace numa {
namespace {

// Maps `length` bytes; from one huge page up, starting on a huge-page
// boundary, as Linux 6.7+ does by itself: on older kernels a huge page would
// straddle every 2 MiB mark of the buffer, and moving either side of such a
// mark moves the whole huge page, bytes of the other side with it.
void* map_aligned(size_t length) {
  constexpr int kProtection = PROT_READ | PROT_WRITE;
  constexpr int kFlags = MAP_PRIVATE | MAP_ANONYMOUS;
  size_t huge = huge_page_size();
  if (huge == 0 || length < huge) return mmap(nullptr, length, kProtection, kFlags, -1, 0);
  void* reserved = mmap(nullptr, length + huge, kProtection, kFlags, -1, 0);
  if (reserved == MAP_FAILED) return MAP_FAILED;
  uintptr_t start = reinterpret_cast<uintptr_t>(reserved);
  uintptr_t aligned = (start + huge - 1) & ~uintptr_t(huge - 1);
  if (aligned > start) munmap(reserved, aligned - start);
  size_t tail = start + length + huge - (aligned + length);
  if (tail > 0) munmap(reinterpret_cast<void*>(aligned + length), tail);
  return reinterpret_cast<void*>(aligned);
}

}  // namespace

int map_with_policy(size_t bytes, const Policy& policy, HugePages huge_pages, void** address) {
  size_t length = (bytes + page_size() - 1) / page_size() * page_size();
  void* mapped = map_aligned(length);
  if (mapped == MAP_FAILED) return -errno;
  PageSpan span = {reinterpret_cast<uintptr_t>(mapped), length / page_size()};
  int err = bind_range(span, policy, 0);
  if (!err && huge_pages != HugePages::kSystemDefault &&
      madvise(mapped, length, huge_pages == HugePages::kWanted ? MADV_HUGEPAGE : MADV_NOHUGEPAGE) != 0)
    err = -errno;
  if (err) {
    munmap(mapped, length);
    return err;
  }
  *address = mapped;
  return 0;
}

void unmap(void* address, size_t bytes) {
  munmap(address, (bytes + page_size() - 1) / page_size() * page_size());
}

}  // namespace numa
