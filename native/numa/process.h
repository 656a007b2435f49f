// Whole-process migration: every page of a process on some nodes moved to
// others (migrate_pages). Plain C++.
#pragma once

#include "policy.h"

namespace numa {

// migrate_pages: returns the number of pages that could not be moved, or a negative errno.
long migrate_process(int pid, const NodeMask& from, const NodeMask& to);

}  // namespace numa
