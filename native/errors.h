// JS errors for failed system calls: { errno (negative), syscall }.
// The TypeScript layer turns them into NumaError with a code and the caller's context.
#pragma once

#include <napi.h>

namespace glue {

Napi::Error system_error(Napi::Env env, int negative_errno, const char* syscall);

}  // namespace glue
