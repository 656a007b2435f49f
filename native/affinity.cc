// threadAffinity() -> number[] and setThreadAffinity(cpus) for the calling thread.
#include <napi.h>

#include <string>
#include <vector>

#include "errors.h"
#include "exports.h"
#include "numa/affinity.h"

namespace glue {
namespace {

Napi::Value thread_affinity(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::vector<int> cpus;
  if (int err = numa::thread_cpus(&cpus)) throw system_error(env, err, "sched_getaffinity");
  Napi::Array result = Napi::Array::New(env, cpus.size());
  for (size_t i = 0; i < cpus.size(); i++) result.Set(uint32_t(i), Napi::Number::New(env, cpus[i]));
  return result;
}

Napi::Value set_thread_affinity(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsArray()) throw Napi::TypeError::New(env, "setThreadAffinity: cpus must be an array");
  Napi::Array list = info[0].As<Napi::Array>();
  std::vector<int> cpus;
  for (uint32_t i = 0; i < list.Length(); i++) {
    Napi::Value entry = list[i];
    if (!entry.IsNumber()) throw Napi::TypeError::New(env, "setThreadAffinity: cpu ids must be numbers");
    cpus.push_back(entry.As<Napi::Number>().Int32Value());
  }
  if (int err = numa::set_thread_cpus(cpus)) throw system_error(env, err, "sched_setaffinity");
  return env.Undefined();
}

}  // namespace

void register_affinity(Napi::Env env, Napi::Object exports) {
  exports.Set("threadAffinity", Napi::Function::New(env, thread_affinity, "threadAffinity"));
  exports.Set("setThreadAffinity", Napi::Function::New(env, set_thread_affinity, "setThreadAffinity"));
}

}  // namespace glue
