// CPU and node of the calling thread.
#pragma once

namespace numa {

// 0 or a negative errno.
int current_cpu(unsigned* cpu, unsigned* node);

}  // namespace numa
