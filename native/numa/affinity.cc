#include "affinity.h"

#include <cerrno>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace numa {

int thread_cpus(std::vector<int>* cpus) {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return -errno;
  cpus->clear();
  for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
    if (CPU_ISSET(cpu, &set)) cpus->push_back(cpu);
  return 0;
}

int set_thread_cpus(const std::vector<int>& cpus) {
  cpu_set_t set;
  CPU_ZERO(&set);
  for (int cpu : cpus) {
    if (cpu < 0 || cpu >= CPU_SETSIZE) return -EINVAL;
    CPU_SET(cpu, &set);
  }
  if (sched_setaffinity(0, sizeof set, &set) != 0) return -errno;
  return 0;
}

int current_cpu(unsigned* cpu, unsigned* node) {
  // Raw syscall: glibc's getcpu() wrapper needs glibc 2.29, prebuilds target older ones.
  if (syscall(SYS_getcpu, cpu, node, nullptr) != 0) return -errno;
  return 0;
}

}  // namespace numa
