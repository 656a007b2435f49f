#include "pagemap.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <iterator>
#include <mutex>
#include <pthread.h>
#include <string>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kernel.h"

namespace numa {
namespace {

// /proc/self/pagemap, opened once per process: an open is a path walk and a
// new procfs file, more than the 1-page move_pages query it would accompany on
// kernels that need the zero-page scan. A forked child drops it (it shows the
// pages of the process that opened it) and opens its own.
std::mutex pagemap_lock;
int pagemap = -1;

int pagemap_fd() {
  std::lock_guard<std::mutex> hold(pagemap_lock);
  if (pagemap < 0) {
    static const bool forget_in_children = pthread_atfork(nullptr, nullptr, [] {
      if (pagemap >= 0) close(pagemap);
      pagemap = -1;
    }) == 0;
    if (!forget_in_children) return -ENOMEM;  // pthread_atfork's only error
    pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    if (pagemap < 0) return -errno;
  }
  return pagemap;
}

// Calls found(start, end) for every run of pages [start, end) in [from, to)
// of the process whose pagemap `fd` is that has any of `categories`
// (PAGEMAP_SCAN, Linux 6.7+, unprivileged), in address order, until it
// returns false.
template <typename Found>
int scan_runs(int fd, uintptr_t from, uintptr_t to, uint64_t categories, Found found) {
  page_region regions[64];
  pm_scan_arg scan = {};
  scan.size = sizeof scan;
  scan.start = from;
  scan.end = to;
  scan.vec = reinterpret_cast<uintptr_t>(regions);
  scan.vec_len = std::size(regions);
  scan.category_anyof_mask = categories;
  scan.return_mask = categories;
  while (scan.start < scan.end) {
    long regions_found = ioctl(fd, PAGEMAP_SCAN, &scan);
    if (regions_found < 0 && errno == EINTR) continue;
    if (regions_found < 0) return -errno;
    for (long i = 0; i < regions_found; i++)
      if (!found(uintptr_t(regions[i].start), uintptr_t(regions[i].end))) return 0;
    if (scan.walk_end <= scan.start) break;  // no progress: never loop forever
    scan.start = scan.walk_end;
  }
  return 0;
}

// Calls found(first, end) for every run of pages [first, end) of the span
// whose pages all have `category`, in this process.
template <typename Found>
int scan_pages(PageSpan span, uint64_t category, Found found) {
  int fd = pagemap_fd();
  if (fd < 0) return fd;
  return scan_runs(fd, span.start, span.start + span.count * page_size(), category, [&](uintptr_t start, uintptr_t end) {
    found(size_t((start - span.start) / page_size()), size_t((end - span.start) / page_size()));
    return true;
  });
}

// Set once PAGEMAP_SCAN turns out to be missing (before Linux 6.7).
std::atomic<bool> scan_missing{false};

// Takes note of an error of PAGEMAP_SCAN that says the kernel lacks it.
void note_scan_error(long err) {
  if (err == -ENOTTY || err == -EINVAL) scan_missing.store(true, std::memory_order_relaxed);
}

const char kNodeRoot[] = "/sys/devices/system/node";

// The number after `prefix` in a name like "node3" or "memory42", or -1.
long suffix_number(const char* name, const char* prefix) {
  size_t length = std::strlen(prefix);
  if (std::strncmp(name, prefix, length) != 0 || name[length] == '\0') return -1;
  char* end = nullptr;
  long number = std::strtol(name + length, &end, 10);
  return *end == '\0' ? number : -1;
}

// The entries of `count` pages from page-aligned `first_page` of an open pagemap file.
int read_entries(int fd, uintptr_t first_page, size_t count, uint64_t* entries) {
  size_t want = count * sizeof(uint64_t);
  off_t offset = off_t(first_page / page_size() * sizeof(uint64_t));
  char* out = reinterpret_cast<char*>(entries);
  while (want > 0) {
    ssize_t got = pread(fd, out, want, offset);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return got < 0 ? -errno : -EIO;
    out += got;
    offset += got;
    want -= size_t(got);
  }
  return 0;
}

}  // namespace

int read_pagemap(uintptr_t first_page, size_t count, uint64_t* entries) {
  int fd = pagemap_fd();
  return fd < 0 ? fd : read_entries(fd, first_page, count, entries);
}

int read_process_pagemap(int pid, uintptr_t first_page, size_t count, uint64_t* entries) {
  if (pid == 0) return read_pagemap(first_page, count, entries);
  int fd = open(("/proc/" + std::to_string(pid) + "/pagemap").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  int err = read_entries(fd, first_page, count, entries);
  close(fd);
  return err;
}

int first_populated(int pid, uintptr_t start, uintptr_t end, uintptr_t* first) {
  if (scan_missing.load(std::memory_order_relaxed)) return -ENOTTY;
  int fd = pid == 0 ? pagemap_fd() : open(("/proc/" + std::to_string(pid) + "/pagemap").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return pid == 0 ? fd : -errno;
  *first = end;
  int err = scan_runs(fd, start, end, PAGE_IS_PRESENT | PAGE_IS_SWAPPED, [&](uintptr_t run, uintptr_t) {
    *first = run;
    return false;
  });
  if (pid != 0) close(fd);
  note_scan_error(err);
  return err;
}

bool own_page(uint64_t entry) { return (entry & kPagemapPresent) && (entry & kPagemapExclusive); }

int mark_zero_pages(PageSpan span, int32_t* status) {
  return scan_pages(span, PAGE_IS_PFNZERO, [&](size_t first, size_t end) { std::fill(status + first, status + end, kNotPresent); });
}

void find_huge_runs(PageSpan span, PageRuns& runs) {
  runs.clear();
  if (huge_page_size() == 0 || scan_missing.load(std::memory_order_relaxed)) return;
  int err = scan_pages(span, PAGE_IS_HUGE, [&](size_t first, size_t end) { runs.emplace_back(first, end); });
  note_scan_error(err);
  if (err) runs.clear();
}

int pages_in_flux(PageSpan span, const int32_t* where) {
  if (std::find(where, where + span.count, kNotPresent) == where + span.count) return 0;
  std::vector<uint64_t> entries(span.count);
  if (int err = read_pagemap(span.start, span.count, entries.data())) return err;
  for (size_t i = 0; i < span.count; i++)
    if (where[i] == kNotPresent && (entries[i] & kPagemapSwapEntry)) return 1;
  return 0;
}

void FrameNodes::load() {
  loaded_ = true;
  FILE* file = std::fopen("/sys/devices/system/memory/block_size_bytes", "re");
  if (!file) return;
  unsigned long long block_bytes = 0;
  bool read = std::fscanf(file, "%llx", &block_bytes) == 1;
  std::fclose(file);
  if (!read || block_bytes < page_size()) return;
  frames_per_block_ = block_bytes / page_size();

  DIR* nodes = opendir(kNodeRoot);
  if (!nodes) return;
  while (dirent* node_entry = readdir(nodes)) {
    long node = suffix_number(node_entry->d_name, "node");
    if (node < 0) continue;
    DIR* blocks = opendir((std::string(kNodeRoot) + "/" + node_entry->d_name).c_str());
    if (!blocks) continue;
    while (dirent* block_entry = readdir(blocks)) {
      long block = suffix_number(block_entry->d_name, "memory");
      if (block < 0) continue;
      if (size_t(block) >= block_nodes_.size()) block_nodes_.resize(size_t(block) + 1, -1);
      block_nodes_[size_t(block)] = int32_t(node);
    }
    closedir(blocks);
  }
  closedir(nodes);
}

int32_t FrameNodes::node_of(uint64_t pfn) {
  if (!loaded_) load();
  if (frames_per_block_ == 0) return -1;
  uint64_t block = pfn / frames_per_block_;
  return block < block_nodes_.size() ? block_nodes_[block] : -1;
}

int32_t hidden_page_node(uint64_t entry, FrameNodes& frames) {
  uint64_t frame = entry & kPagemapFrameMask;
  int32_t node = frame ? frames.node_of(frame) : -1;
  return node >= 0 ? node : kHiddenNodeUnknown;
}

}  // namespace numa
