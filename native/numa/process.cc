#include "process.h"

#include <cerrno>
#include <unistd.h>

#include "kernel.h"

namespace numa {

long migrate_process(int pid, const NodeMask& from, const NodeMask& to) {
  long rc = syscall(SYS_migrate_pages, pid, NodeMask::maxnode(), from.data(), to.data());
  return rc < 0 ? -errno : rc;
}

}  // namespace numa
