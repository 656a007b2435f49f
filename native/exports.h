// One registration function per feature file; binding.cc calls them all.
#pragma once

#include <napi.h>

namespace glue {

void register_cpu(Napi::Env env, Napi::Object exports);
void register_query(Napi::Env env, Napi::Object exports);
void register_move(Napi::Env env, Napi::Object exports);
void register_policy(Napi::Env env, Napi::Object exports);
void register_alloc(Napi::Env env, Napi::Object exports);
void register_affinity(Napi::Env env, Napi::Object exports);
void register_process(Napi::Env env, Napi::Object exports);

}  // namespace glue
