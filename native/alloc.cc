// allocate(bytes, mode, flags, nodes, hugePages: boolean | undefined, asArrayBuffer): page-aligned
// memory with its policy set before first touch, as a Buffer or ArrayBuffer
// that unmaps itself when collected. Accounted to V8 as external memory.
#include <napi.h>

#include <string>

#include "errors.h"
#include "exports.h"
#include "numa/alloc.h"
#include "policy_args.h"

namespace glue {
namespace {

Napi::Value allocate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  double requested = info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : 0;
  if (!(requested >= 1 && requested <= double(1ull << 47)) || requested != double(uint64_t(requested)))
    throw Napi::RangeError::New(env, "allocate: bytes must be a positive integer");
  size_t bytes = size_t(requested);
  numa::Policy policy = policy_arguments(info, 1, "allocate");
  void* address = nullptr;
  numa::HugePages huge_pages = info[4].IsBoolean()
      ? (info[4].As<Napi::Boolean>().Value() ? numa::HugePages::kWanted : numa::HugePages::kUnwanted)
      : numa::HugePages::kSystemDefault;
  if (int err = numa::map_with_policy(bytes, policy, huge_pages, &address))
    throw system_error(env, err, err == -ENOMEM ? "mmap" : "mbind");
  auto release = [bytes](Napi::Env env, void* data) {
    numa::unmap(data, bytes);
    Napi::MemoryManagement::AdjustExternalMemory(env, -int64_t(bytes));
  };
  try {
    Napi::Value memory = info[5].ToBoolean()
        ? Napi::Value(Napi::ArrayBuffer::New(env, address, bytes, release))
        : Napi::Value(Napi::Buffer<uint8_t>::New(env, static_cast<uint8_t*>(address), bytes, release));
    Napi::MemoryManagement::AdjustExternalMemory(env, int64_t(bytes));
    return memory;
  } catch (...) {
    numa::unmap(address, bytes);
    throw;
  }
}

}  // namespace

void register_alloc(Napi::Env env, Napi::Object exports) {
  exports.Set("allocate", Napi::Function::New(env, allocate, "allocate"));
}

}  // namespace glue
