#include "frames.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <string>

#include "pages.h"

namespace numa {
namespace {

const char kNodeRoot[] = "/sys/devices/system/node";

// The number after `prefix` in a name like "node3" or "memory42", or -1.
long suffix_number(const char* name, const char* prefix) {
  size_t length = std::strlen(prefix);
  if (std::strncmp(name, prefix, length) != 0 || name[length] == '\0') return -1;
  char* end = nullptr;
  long number = std::strtol(name + length, &end, 10);
  return *end == '\0' ? number : -1;
}

}  // namespace

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

}  // namespace numa
