// currentCpu() -> { cpu, node } of the calling thread.
#include <napi.h>

#include "errors.h"
#include "exports.h"
#include "numa/cpu.h"

namespace glue {

static Napi::Value current_cpu(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  unsigned cpu = 0, node = 0;
  if (int err = numa::current_cpu(&cpu, &node)) throw system_error(env, err, "getcpu");
  Napi::Object result = Napi::Object::New(env);
  result.Set("cpu", Napi::Number::New(env, cpu));
  result.Set("node", Napi::Number::New(env, node));
  return result;
}

void register_cpu(Napi::Env env, Napi::Object exports) {
  exports.Set("currentCpu", Napi::Function::New(env, current_cpu, "currentCpu"));
}

}  // namespace glue
