// Glue for lib/affinity.ts: threadAffinity() -> number[], setThreadAffinity(cpus),
// currentCpu() -> { cpu, node }, all of the calling thread.
#include <vector>

#include "args.h"
#include "exports.h"
#include "jobs.h"
#include "numa/affinity.h"

namespace glue {

Napi::Value thread_affinity(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::vector<int> cpus;
  if (int err = numa::thread_cpus(&cpus)) throw system_error(env, err, "sched_getaffinity");
  Napi::Array result = Napi::Array::New(env, cpus.size());
  for (size_t i = 0; i < cpus.size(); i++) result.Set(uint32_t(i), Napi::Number::New(env, cpus[i]));
  return result;
}

Napi::Value set_thread_affinity(const Napi::CallbackInfo& info) {
  std::vector<int> cpus = Args(info, "setThreadAffinity").cpus(0, "cpus");
  if (int err = numa::set_thread_cpus(cpus)) throw system_error(info.Env(), err, "sched_setaffinity");
  return info.Env().Undefined();
}

Napi::Value current_cpu(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  unsigned cpu = 0, node = 0;
  if (int err = numa::current_cpu(&cpu, &node)) throw system_error(env, err, "getcpu");
  Napi::Object result = Napi::Object::New(env);
  result.Set("cpu", Napi::Number::New(env, cpu));
  result.Set("node", Napi::Number::New(env, node));
  return result;
}

}  // namespace glue
