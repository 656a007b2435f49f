// Memory mapped for one owner with its policy set before the first touch,
// so every page is allocated where the policy says.
#pragma once

#include <cstddef>

#include "policy.h"

namespace numa {

enum class HugePages { kSystemDefault, kWanted, kUnwanted };

// Maps `bytes` (rounded up to whole pages) of private anonymous memory with
// `policy`; transparent huge pages as the system does, or asked for
// (MADV_HUGEPAGE) or refused (MADV_NOHUGEPAGE: pages are placed one by one).
int map_with_policy(size_t bytes, const Policy& policy, HugePages huge_pages, void** address);
void unmap(void* address, size_t bytes);

}  // namespace numa
