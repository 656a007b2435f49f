// Glue for lib/alloc.ts: allocate(bytes, policy, hugePages, asArrayBuffer) ->
// page-aligned memory with its policy set before first touch, as a Buffer or
// ArrayBuffer that unmaps itself when collected; accounted to V8 as external
// memory. hugePages: 'system' (the THP setting decides), 'wanted' or 'unwanted'.
#include "args.h"
#include "exports.h"
#include "jobs.h"
#include "numa/alloc.h"

namespace glue {

Napi::Value allocate(const Napi::CallbackInfo& info) {
  Args args(info, "allocate");
  size_t bytes = args.bytes(0, "bytes");
  numa::Policy policy = args.policy(1);
  numa::HugePages huge_pages = args.huge_pages(2, "hugePages");
  bool as_array_buffer = args.boolean(3, "asArrayBuffer");
  Napi::Env env = info.Env();
  void* address = nullptr;
  if (int err = numa::map_with_policy(bytes, policy, huge_pages, &address))
    throw system_error(env, err, err == -ENOMEM ? "mmap" : "mbind");
  auto release = [bytes](Napi::Env env, void* data) {
    numa::unmap(data, bytes);
    Napi::MemoryManagement::AdjustExternalMemory(env, -int64_t(bytes));
  };
  try {
    Napi::Value memory = as_array_buffer
        ? Napi::Value(Napi::ArrayBuffer::New(env, address, bytes, release))
        : Napi::Value(Napi::Buffer<uint8_t>::New(env, static_cast<uint8_t*>(address), bytes, release));
    Napi::MemoryManagement::AdjustExternalMemory(env, int64_t(bytes));
    return memory;
  } catch (...) {
    numa::unmap(address, bytes);
    throw;
  }
}

}  // namespace glue
