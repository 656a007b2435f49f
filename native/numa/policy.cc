#include "policy.h"

#include <cerrno>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_set_mempolicy_home_node
#define SYS_set_mempolicy_home_node 450  // same number on every architecture
#endif

namespace numa {
namespace {

constexpr int kMpolFNode = 1 << 0;
constexpr int kMpolFAddr = 1 << 1;
// Mode flags share the mode argument's high bits.
constexpr int kModeFlags = (1 << 15) | (1 << 14) | (1 << 13);

long result(long rc) { return rc < 0 ? -errno : rc; }

}  // namespace

int bind_range(PageSpan span, const Policy& policy, int move_flags) {
  return int(result(syscall(SYS_mbind, span.start, span.count * page_size(), policy.mode | policy.flags,
                            policy.nodes.data(), NodeMask::maxnode(), move_flags)));
}

// get_mempolicy for a range (MPOL_F_ADDR) or the calling thread (no flags).
int read_policy(uintptr_t address, int flags, Policy* policy) {
  int mode = 0;
  long rc = result(syscall(SYS_get_mempolicy, &mode, policy->nodes.data(), NodeMask::maxnode(),
                           address, flags));
  policy->mode = mode & ~kModeFlags;
  policy->flags = mode & kModeFlags;
  return int(rc);
}

int range_policy(uintptr_t address, Policy* policy) { return read_policy(address, kMpolFAddr, policy); }

int node_of_address(uintptr_t address, int* node) {
  return int(result(syscall(SYS_get_mempolicy, node, nullptr, 0ul, address, kMpolFNode | kMpolFAddr)));
}

int thread_policy(Policy* policy) { return read_policy(0, 0, policy); }

int set_thread_policy(const Policy& policy) {
  return int(result(syscall(SYS_set_mempolicy, policy.mode | policy.flags, policy.nodes.data(),
                            NodeMask::maxnode())));
}

int set_home_node(PageSpan span, int node) {
  return int(result(syscall(SYS_set_mempolicy_home_node, span.start, span.count * page_size(),
                            (unsigned long)node, 0ul)));
}

long migrate_process(int pid, const NodeMask& from, const NodeMask& to) {
  return result(syscall(SYS_migrate_pages, pid, NodeMask::maxnode(), from.data(), to.data()));
}

}  // namespace numa
