// The kernel's numbers and structures, from its UAPI headers, filling in only
// what older headers (Debian 12 ships 6.1's) lack.
#pragma once

#include <linux/fs.h>
#include <linux/types.h>

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
#define PAGE_IS_PFNZERO (1 << 5)
#endif
