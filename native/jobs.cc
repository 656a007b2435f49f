#include "jobs.h"

#include <uv.h>

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

Napi::Float64Array call_log(Napi::Env env, const std::vector<numa::TimedCall>& calls) {
  Napi::Float64Array log = Napi::Float64Array::New(env, 2 * calls.size());
  for (size_t i = 0; i < calls.size(); i++) {
    log[2 * i] = double(calls[i].pages);
    log[2 * i + 1] = double(calls[i].ns);
  }
  return log;
}

}  // namespace glue
