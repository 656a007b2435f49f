#include "errors.h"

#include <cstring>
#include <string>

namespace glue {

Napi::Error system_error(Napi::Env env, int negative_errno, const char* syscall) {
  Napi::Error error =
      Napi::Error::New(env, std::string(syscall) + ": " + std::strerror(-negative_errno));
  error.Set("errno", Napi::Number::New(env, negative_errno));
  error.Set("syscall", Napi::String::New(env, syscall));
  return error;
}

}  // namespace glue
