#include "policy.h"

#include <cerrno>
#include <unistd.h>

#include "kernel.h"

namespace numa {
namespace {

long result(long rc) { return rc < 0 ? -errno : rc; }

// get_mempolicy for a range (MPOL_F_ADDR) or the calling thread (no flags).
// Mode flags share the mode's high bits.
int read_policy(uintptr_t address, int flags, Policy* policy) {
  int mode = 0;
  long rc = result(syscall(SYS_get_mempolicy, &mode, policy->nodes.data(), NodeMask::maxnode(),
                           address, flags));
  policy->mode = mode & ~MPOL_MODE_FLAGS;
  policy->flags = mode & MPOL_MODE_FLAGS;
  return int(rc);
}

}  // namespace

int bind_range(PageSpan span, const Policy& policy, int move_flags) {
  return int(result(syscall(SYS_mbind, span.start, span.count * page_size(), policy.mode | policy.flags,
                            policy.nodes.data(), NodeMask::maxnode(), move_flags)));
}

int range_policy(uintptr_t address, Policy* policy) { return read_policy(address, MPOL_F_ADDR, policy); }

int node_of_address(uintptr_t address, int* node) {
  return int(result(syscall(SYS_get_mempolicy, node, nullptr, 0ul, address, MPOL_F_NODE | MPOL_F_ADDR)));
}

int thread_policy(Policy* policy) { return read_policy(0, 0, policy); }

int allowed_nodes(NodeMask* nodes) {
  return int(result(syscall(SYS_get_mempolicy, nullptr, nodes->data(), NodeMask::maxnode(), 0ul, MPOL_F_MEMS_ALLOWED)));
}

int set_thread_policy(const Policy& policy) {
  return int(result(syscall(SYS_set_mempolicy, policy.mode | policy.flags, policy.nodes.data(),
                            NodeMask::maxnode())));
}

int set_home_node(PageSpan span, int node) {
  return int(result(syscall(SYS_set_mempolicy_home_node, span.start, span.count * page_size(),
                            (unsigned long)node, 0ul)));
}

}  // namespace numa
