// Memory policies: of address ranges (mbind, get_mempolicy MPOL_F_ADDR), of
// the calling thread (set_mempolicy), and home nodes. Plain C++, 0 or a
// negative errno.
#pragma once

#include <cstdint>
#include <vector>

#include "span.h"

namespace numa {

// A node set as the kernel takes it: one bit per node id.
class NodeMask {
 public:
  static constexpr unsigned kMaxNodes = 1024;  // the kernel's MAX_NUMNODES limit (NODES_SHIFT 10)

  void add(unsigned node) { words_[node / kBits] |= 1ul << (node % kBits); }
  bool has(unsigned node) const { return words_[node / kBits] >> (node % kBits) & 1; }
  unsigned long* data() { return words_; }
  const unsigned long* data() const { return words_; }
  // The `maxnode` argument for this mask (the kernel reads maxnode - 1 bits).
  static unsigned long maxnode() { return kMaxNodes + 1; }

 private:
  static constexpr unsigned kBits = sizeof(unsigned long) * 8;
  unsigned long words_[kMaxNodes / kBits] = {};
};

struct Policy {
  int mode = 0;   // MPOL_* mode
  int flags = 0;  // MPOL_F_STATIC_NODES | MPOL_F_RELATIVE_NODES | MPOL_F_NUMA_BALANCING
  NodeMask nodes;
};

// mbind on whole pages. `move_flags`: MPOL_MF_STRICT / MOVE / MOVE_ALL.
int bind_range(PageSpan span, const Policy& policy, int move_flags);
// The policy of the range holding `address` (get_mempolicy MPOL_F_ADDR).
int range_policy(uintptr_t address, Policy* policy);
// The node of the page at `address`; allocates it if absent (get_mempolicy MPOL_F_NODE | MPOL_F_ADDR).
int node_of_address(uintptr_t address, int* node);

int thread_policy(Policy* policy);
// The nodes this thread's cpuset lets it allocate on (get_mempolicy MPOL_F_MEMS_ALLOWED):
// online nodes with memory inside the cpuset.
int allowed_nodes(NodeMask* nodes);
int set_thread_policy(const Policy& policy);

// set_mempolicy_home_node (Linux 5.17+) on whole pages.
int set_home_node(PageSpan span, int node);

}  // namespace numa
