#include "alloc.h"

#include <cerrno>
#include <sys/mman.h>

namespace numa {

int map_with_policy(size_t bytes, const Policy& policy, HugePages huge_pages, void** address) {
  size_t length = (bytes + page_size() - 1) / page_size() * page_size();
  void* mapped = mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
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
