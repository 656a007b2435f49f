// Every argument a native export reads, read here: one call per argument, and
// a wrong one throws a TypeError (wrong type) or RangeError (wrong value)
// saying "<function>: <argument> must be …". The TypeScript layer checks
// first and better; these checks make misuse of the addon itself an error
// that names the export and the argument, never a crash.
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "numa/alloc.h"
#include "numa/migrate.h"
#include "numa/policy.h"
#include "numa/span.h"

namespace glue {

// The bytes of a view argument.
struct Bytes {
  uint8_t* data;
  size_t length;
};

// The most retries and the longest pause a migration takes (the TypeScript layer's limits too).
constexpr uint32_t kMaxRetries = 1000;
constexpr uint32_t kMaxRetryDelayMs = 60000;
// The most pages a paced migration moves in one call: a default chunk's.
constexpr uint32_t kMaxPacedMoves = uint32_t(numa::kChunkPages);

// The options object of a migration export.
struct MigrationOptions {
  numa::MoveOptions move;
  bool status = false;  // the per-page statuses wanted back
};

class Args {
 public:
  Args(const Napi::CallbackInfo& info, const char* function) : info_(info), function_(function) {}

  // The bytes of a Uint8Array over a live buffer. Every typed array argument
  // is refused, with code ERR_INVALID_STATE, when its buffer is detached.
  Bytes view(size_t index) const;
  // An integer in [0, max].
  uint32_t integer(size_t index, const char* name, uint32_t max) const;
  // An integer in [min, max].
  uint32_t integer(size_t index, const char* name, uint32_t min, uint32_t max) const;
  // A whole number of bytes, at least 1, below 2^47 (the user address space).
  size_t bytes(size_t index, const char* name) const;
  // An address in another process: a whole number below 2^53 (a double holds it exactly).
  uintptr_t address(size_t index, const char* name) const;
  bool boolean(size_t index, const char* name) const;
  // An Int32Array of exactly `length` elements, copied: the caller may reuse it at once.
  std::vector<int32_t> int32s(size_t index, const char* name, size_t length) const;
  // Typed arrays the export writes its results into.
  Napi::Int32Array int32_array(size_t index, const char* name) const;
  Napi::Float64Array float64_array(size_t index, const char* name, size_t min_length) const;
  // An array of node ids, each below NodeMask::kMaxNodes.
  numa::NodeMask nodes(size_t index, const char* name) const;
  // An Int32Array indexed by node id, at most NodeMask::kMaxNodes long: each
  // entry a node id below that, or -1.
  std::vector<int32_t> node_targets(size_t index, const char* name) const;
  // An array of CPU ids, each below CPU_SETSIZE.
  std::vector<int> cpus(size_t index, const char* name) const;
  // { mode, flags, nodes } in the kernel's numbers.
  numa::Policy policy(size_t index) const;
  // 'system', 'wanted' or 'unwanted'.
  numa::HugePages huge_pages(size_t index, const char* name) const;
  // A non-empty string without NUL characters (a C string ends at the first).
  std::string string(size_t index, const char* name) const;
  // A non-empty array of strings without NUL characters (argv, argv[0] first).
  std::vector<std::string> strings(size_t index, const char* name) const;
  // { moveAll, prefault, countMoved, status, retries, retryDelayMs, maxMoves },
  // each optional: false, 1 retry, no pause, not paced when undefined.
  MigrationOptions migration_options(size_t index) const;

 private:
  [[noreturn]] void type_error(const char* name, const char* expected) const;
  [[noreturn]] void range_error(const char* name, const char* expected) const;
  // A TypeError with code ERR_INVALID_STATE: `name` is `kind` over a detached buffer.
  [[noreturn]] void detached_error(const char* name, const char* kind) const;
  template <typename T>
  Napi::TypedArrayOf<T> typed_array(size_t index, const char* name, napi_typedarray_type type, const char* kind) const;
  uint32_t integer_value(const Napi::Value& value, const char* name, uint32_t max, uint32_t min = 0) const;
  std::string c_string(const Napi::Value& value, const char* name) const;
  double number(const Napi::Value& value, const char* name) const;
  // options[key]: a boolean, or undefined for false.
  bool optional_flag(const Napi::Object& options, const char* key) const;
  // options[key]: an integer in [0, max], or undefined for `fallback`.
  uint32_t optional_count(const Napi::Object& options, const char* key, uint32_t max, uint32_t fallback) const;
  numa::NodeMask node_list(const Napi::Value& value, const char* name) const;

  const Napi::CallbackInfo& info_;
  const char* function_;
};

// The whole pages a view touches.
numa::PageSpan span_of_view(Bytes view);

}  // namespace glue
