// CPU affinity of the calling thread (a worker_threads Worker is its own OS thread).
#pragma once

#include <vector>

namespace numa {

// 0 or a negative errno.
int thread_cpus(std::vector<int>* cpus);
int set_thread_cpus(const std::vector<int>& cpus);

}  // namespace numa
