// Policy arguments and results shared by the policy and allocation glue.
#pragma once

#include <napi.h>

#include "numa/policy.h"

namespace glue {

// Throws TypeError/RangeError naming `function` unless `value` is an array of node ids < 1024.
numa::NodeMask node_mask_argument(const Napi::Value& value, const char* function);
// (mode, flags, nodes) starting at argument `first`.
numa::Policy policy_arguments(const Napi::CallbackInfo& info, size_t first, const char* function);
Napi::Object policy_object(Napi::Env env, const numa::Policy& policy);

}  // namespace glue
