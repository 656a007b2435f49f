// Which node a physical page frame belongs to, from the memory blocks each
// node lists in sysfs. Used for pages whose frame number pagemap reveals
// (CAP_SYS_ADMIN) without touching the page.
#pragma once

#include <cstdint>
#include <vector>

namespace numa {

class FrameNodes {
 public:
  // The node of page frame `pfn`, or -1 when no node lists its memory block.
  int32_t node_of(uint64_t pfn);

 private:
  void load();

  bool loaded_ = false;
  uint64_t frames_per_block_ = 0;
  std::vector<int32_t> block_nodes_;  // indexed by memory block number
};

}  // namespace numa
