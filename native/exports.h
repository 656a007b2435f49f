// Every native export, in the order of types/binding.d.ts, each defined in the
// glue file named after the lib/ module it serves; binding.cc registers them.
#pragma once

#include <napi.h>

namespace glue {

// constants.cc: the exports' `constants` object, made once at load.
Napi::Object constants(Napi::Env env);
// pages.cc
Napi::Value page_query(const Napi::CallbackInfo& info);
Napi::Value span_of(const Napi::CallbackInfo& info);
Napi::Value prefault(const Napi::CallbackInfo& info);
// migrate.cc
Napi::Value migrate(const Napi::CallbackInfo& info);
Napi::Value migrate_async(const Napi::CallbackInfo& info);
Napi::Value move_pages(const Napi::CallbackInfo& info);
Napi::Value move_pages_async(const Napi::CallbackInfo& info);
// policy.cc
Napi::Value bind_range(const Napi::CallbackInfo& info);
Napi::Value range_policy(const Napi::CallbackInfo& info);
Napi::Value node_of_address(const Napi::CallbackInfo& info);
Napi::Value thread_policy(const Napi::CallbackInfo& info);
Napi::Value allowed_nodes(const Napi::CallbackInfo& info);
Napi::Value set_thread_policy(const Napi::CallbackInfo& info);
Napi::Value set_home_node(const Napi::CallbackInfo& info);
// process.cc
Napi::Value migrate_process(const Napi::CallbackInfo& info);
Napi::Value migrate_process_async(const Napi::CallbackInfo& info);
Napi::Value move_process_range(const Napi::CallbackInfo& info);
Napi::Value move_process_range_async(const Napi::CallbackInfo& info);
// alloc.cc
Napi::Value allocate(const Napi::CallbackInfo& info);
// affinity.cc
Napi::Value thread_affinity(const Napi::CallbackInfo& info);
Napi::Value set_thread_affinity(const Napi::CallbackInfo& info);
Napi::Value current_cpu(const Napi::CallbackInfo& info);
// exec.cc
Napi::Value exec(const Napi::CallbackInfo& info);

}  // namespace glue
