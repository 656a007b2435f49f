#include "jobs.h"

#include <uv.h>

#include <algorithm>
#include <string>

namespace glue {

Napi::Error system_error(Napi::Env env, int negative_errno, const char* syscall) {
  // libuv's error codes are the negative errnos on Linux; its names are Node's `code`s.
  char code[32];
  uv_err_name_r(negative_errno, code, sizeof code);
  Napi::Error error = Napi::Error::New(env, std::string(syscall) + " failed: " + code);
  error.Set("errno", Napi::Number::New(env, negative_errno));
  error.Set("code", Napi::String::New(env, code));
  error.Set("syscall", Napi::String::New(env, syscall));
  return error;
}

Napi::Object page_counts(Napi::Env env, const std::map<int32_t, size_t>& pages_by) {
  Napi::Object object = Napi::Object::New(env);
  for (const auto& [key, pages] : pages_by) object.Set(Napi::Number::New(env, key), Napi::Number::New(env, double(pages)));
  return object;
}

Napi::Float64Array call_times(Napi::Env env, const std::vector<uint64_t>& call_ns) {
  Napi::Float64Array times = Napi::Float64Array::New(env, call_ns.size());
  std::copy(call_ns.begin(), call_ns.end(), times.Data());
  return times;
}

}  // namespace glue
