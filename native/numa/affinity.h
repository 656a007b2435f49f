// The CPUs of the calling thread: which it may run on (a worker_threads
// Worker is its own OS thread) and which it runs on now.
#pragma once

#include <vector>

namespace numa {

// 0 or a negative errno.
int thread_cpus(std::vector<int>* cpus);
int set_thread_cpus(const std::vector<int>& cpus);
int current_cpu(unsigned* cpu, unsigned* node);

}  // namespace numa
