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

}  // namespace glue
