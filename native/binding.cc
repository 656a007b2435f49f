// Registers every native export, in the order of types/binding.d.ts.
#include <napi.h>

#include "exports.h"
#include "numa/span.h"

namespace {

Napi::Object init(Napi::Env env, Napi::Object exports) {
  auto add = [&](const char* name, Napi::Function::Callback callback) {
    exports.Set(name, Napi::Function::New(env, callback, name));
  };
  exports.Set("pageSize", Napi::Number::New(env, double(numa::page_size())));
  exports.Set("hugePageSize", Napi::Number::New(env, double(numa::huge_page_size())));
  exports.Set("constants", glue::constants(env));
  add("pageQuery", glue::page_query);
  add("spanOf", glue::span_of);
  add("prefault", glue::prefault);
  add("migrate", glue::migrate);
  add("migrateAsync", glue::migrate_async);
  add("movePages", glue::move_pages);
  add("movePagesAsync", glue::move_pages_async);
  add("bindRange", glue::bind_range);
  add("rangePolicy", glue::range_policy);
  add("nodeOfAddress", glue::node_of_address);
  add("threadPolicy", glue::thread_policy);
  add("allowedNodes", glue::allowed_nodes);
  add("setThreadPolicy", glue::set_thread_policy);
  add("setHomeNode", glue::set_home_node);
  add("migrateProcess", glue::migrate_process);
  add("migrateProcessAsync", glue::migrate_process_async);
  add("moveProcessRange", glue::move_process_range);
  add("moveProcessRangeAsync", glue::move_process_range_async);
  add("allocate", glue::allocate);
  add("threadAffinity", glue::thread_affinity);
  add("setThreadAffinity", glue::set_thread_affinity);
  add("currentCpu", glue::current_cpu);
  add("exec", glue::exec);
  return exports;
}

}  // namespace

NODE_API_MODULE(numaplace, init)
