// The kernel's numbers and structures: from its UAPI headers, filling in only
// what older headers (Debian 12 ships 6.1's) lack, plus the documented
// numbers no header carries. The one place native code takes them from; the
// addon exports the policy numbers as `constants` (native/constants.cc), which
// test/binding.test.ts compares with lib/mempolicy.ts's copies.
#pragma once

#include <linux/fs.h>
#include <linux/mempolicy.h>
#include <linux/types.h>
#include <sys/mman.h>
#include <stdint.h>
#include <sys/syscall.h>

#ifndef SYS_set_mempolicy_home_node
#define SYS_set_mempolicy_home_node 450  // Linux 5.17; the same number on every architecture
#endif

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22  // Linux 5.14
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23  // Linux 5.14
#endif

// PAGEMAP_SCAN (Linux 6.7+, Documentation/admin-guide/mm/pagemap.rst): the
// ranges of a mapping whose pages have given properties, unprivileged.
#ifndef PAGEMAP_SCAN
struct page_region {
  __u64 start;
  __u64 end;
  __u64 categories;
};

struct pm_scan_arg {
  __u64 size;
  __u64 flags;
  __u64 start;
  __u64 end;
  __u64 walk_end;
  __u64 vec;
  __u64 vec_len;
  __u64 max_pages;
  __u64 category_inverted;
  __u64 category_mask;
  __u64 category_anyof_mask;
  __u64 return_mask;
};

#define PAGEMAP_SCAN _IOWR('f', 16, struct pm_scan_arg)
#define PAGE_IS_PRESENT (1 << 3)
#define PAGE_IS_SWAPPED (1 << 4)
#define PAGE_IS_PFNZERO (1 << 5)
#define PAGE_IS_HUGE (1 << 6)
#endif

#ifdef __cplusplus  // benchmarks/raw/raw.c includes this file too
namespace numa {

// MPOL_WEIGHTED_INTERLEAVE (Linux 6.9) is the mode after MPOL_PREFERRED_MANY in
// the kernel's enum; older headers lack it, and an enum member cannot be
// tested with #ifdef.
constexpr int kMpolWeightedInterleave = MPOL_PREFERRED_MANY + 1;

// PID_MAX_LIMIT (include/linux/threads.h, 64-bit; in no UAPI header): pid_max
// is at most this, so every process id is below it.
constexpr uint32_t kPidMaxLimit = 4194304;

// /proc/<pid>/pagemap entry bits (Documentation/admin-guide/mm/pagemap.rst; in no header).
constexpr uint64_t kPagemapPresent = 1ull << 63;
constexpr uint64_t kPagemapSwapEntry = 1ull << 62;  // swapped out, or being migrated
constexpr uint64_t kPagemapExclusive = 1ull << 56;
constexpr uint64_t kPagemapFrameMask = (1ull << 55) - 1;  // zero without CAP_SYS_ADMIN

}  // namespace numa
#endif
