// Registers the native exports declared in types/binding.d.ts.
#include <napi.h>

#include "exports.h"
#include "numa/pages.h"

static Napi::Object init(Napi::Env env, Napi::Object exports) {
  exports.Set("pageSize", Napi::Number::New(env, double(numa::page_size())));
  glue::register_cpu(env, exports);
  glue::register_query(env, exports);
  glue::register_move(env, exports);
  glue::register_policy(env, exports);
  glue::register_alloc(env, exports);
  glue::register_affinity(env, exports);
  glue::register_process(env, exports);
  return exports;
}

NODE_API_MODULE(numaplace, init)
