// Drives numa::mark_zero_pages and numa::query_nodes directly on memory whose
// pages this program made zero pages or its own, and prints what they answered
// as JSON for test/zero-pages.test.ts (and whether a read maps the zero page
// at all: a kernel can be booted without it). The kernel's own statuses are replaced
// by the answer some 6.18 builds give (the zero page's node), so the
// correction is exercised whatever kernel this runs on.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <vector>

#include "numa/pagemap.h"
#include "numa/query.h"

namespace {

void print_array(const char* name, const std::vector<int32_t>& values) {
  std::printf("\"%s\": [", name);
  for (size_t i = 0; i < values.size(); i++) std::printf("%s%d", i ? ", " : "", values[i]);
  std::printf("]");
}

// Whether the page at `address` maps the shared zero page: present in
// /proc/self/pagemap but not mapped exclusively, as no page of its own is.
bool maps_zero_page(const char* address) {
  int fd = open("/proc/self/pagemap", O_RDONLY);
  uint64_t entry = 0;
  off_t offset = off_t(reinterpret_cast<uintptr_t>(address) / numa::page_size() * sizeof entry);
  bool read = fd >= 0 && pread(fd, &entry, sizeof entry, offset) == sizeof entry;
  if (fd >= 0) close(fd);
  return read && (entry >> 63) == 1 && ((entry >> 56) & 1) == 0;
}

}  // namespace

int main() {
  const size_t page = numa::page_size();
  const size_t huge = size_t(2) << 20;
  // Eight small pages (no huge page can form: MADV_NOHUGEPAGE): 0 and 2 read, 1 written.
  auto* small = static_cast<char*>(mmap(nullptr, 8 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  // A huge-page-aligned 2 MiB range that is only read: the huge zero page where THP allows.
  auto* raw = static_cast<char*>(mmap(nullptr, 2 * huge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  if (small == MAP_FAILED || raw == MAP_FAILED) return 1;
  char* aligned = reinterpret_cast<char*>((reinterpret_cast<uintptr_t>(raw) + huge - 1) & ~uintptr_t(huge - 1));
  madvise(small, 8 * page, MADV_NOHUGEPAGE);
  madvise(aligned, huge, MADV_HUGEPAGE);
  volatile char sink = small[0];
  sink = small[2 * page];
  sink = aligned[0];
  (void)sink;
  small[page] = 1;

  numa::PageSpan small_span = numa::span_of(reinterpret_cast<uintptr_t>(small), 8 * page);
  numa::PageSpan huge_span = numa::span_of(reinterpret_cast<uintptr_t>(aligned), huge);
  std::vector<int32_t> small_marked(small_span.count, 0), huge_marked(huge_span.count, 0);
  std::vector<int32_t> small_query(small_span.count), huge_query(huge_span.count);
  int errors[4] = {
      numa::mark_zero_pages(small_span, small_marked.data()),
      numa::mark_zero_pages(huge_span, huge_marked.data()),
      numa::query_nodes(small_span, small_query.data(), nullptr),
      numa::query_nodes(huge_span, huge_query.data(), nullptr),
  };
  std::printf("{\"readMapsZeroPage\": %s, \"kernelReportsZeroPageNode\": %s, \"errors\": [%d, %d, %d, %d], ",
              maps_zero_page(small) ? "true" : "false", numa::kernel_reports_zero_page_node() ? "true" : "false",
              errors[0], errors[1], errors[2], errors[3]);
  print_array("smallMarked", small_marked);
  std::printf(", ");
  print_array("smallQuery", small_query);
  std::printf(", ");
  print_array("hugeMarked", huge_marked);
  std::printf(", ");
  print_array("hugeQuery", huge_query);
  std::printf("}\n");
  return 0;
}
