#include "cpu.h"

#include <cerrno>
#include <sys/syscall.h>
#include <unistd.h>

namespace numa {

int current_cpu(unsigned* cpu, unsigned* node) {
  // Raw syscall: glibc's getcpu() wrapper needs glibc 2.29, prebuilds target older ones.
  if (syscall(SYS_getcpu, cpu, node, nullptr) != 0) return -errno;
  return 0;
}

}  // namespace numa
