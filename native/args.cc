#include "args.h"

#include <sched.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "numa/kernel.h"

namespace glue {

void Args::type_error(const char* name, const char* expected) const {
  throw Napi::TypeError::New(info_.Env(), std::string(function_) + ": " + name + " must be " + expected);
}

void Args::range_error(const char* name, const char* expected) const {
  throw Napi::RangeError::New(info_.Env(), std::string(function_) + ": " + name + " must be " + expected);
}

// A buffer transferred or detached leaves its views empty: their memory is no
// longer the caller's to give. The code is Node's for a detached buffer.
void Args::detached_error(const char* name, const char* kind) const {
  Napi::TypeError error = Napi::TypeError::New(info_.Env(), std::string(function_) + ": " + name + " must be " + kind + " over a live ArrayBuffer (this one is detached)");
  error.Set("code", Napi::String::New(info_.Env(), "ERR_INVALID_STATE"));
  throw error;
}

// The typed array argument if its elements are `type`, over a live buffer.
// One Node-API call reads type, length and data at once; node-addon-api's
// accessors on an array obtained with As<>() make a call apiece.
template <typename T>
Napi::TypedArrayOf<T> Args::typed_array(size_t index, const char* name, napi_typedarray_type type, const char* kind) const {
  if (!info_[index].IsTypedArray()) type_error(name, kind);
  Napi::TypedArrayOf<T> array(info_.Env(), info_[index]);
  if (array.TypedArrayType() != type) type_error(name, kind);
  // Only an empty array can be over a detached buffer: only then is the check worth a call.
  if (array.ElementLength() == 0 && array.ArrayBuffer().IsDetached()) detached_error(name, kind);
  return array;
}

// Every export that works on memory reads a view, a 1-page query included:
// one Node-API call here, where node-addon-api's IsTypedArray() and
// Uint8Array constructor make three, which a 1-page query feels.
Bytes Args::view(size_t index) const {
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  napi_value value = info_[index];
  if (napi_get_typedarray_info(info_.Env(), value, &type, &length, &data, nullptr, nullptr) != napi_ok || type != napi_uint8_array)
    type_error("view", "a Uint8Array");
  // A detached buffer leaves its views empty; only then is the check worth a call.
  if (length == 0 && Napi::Uint8Array(info_.Env(), value).ArrayBuffer().IsDetached()) detached_error("view", "a Uint8Array");
  return {static_cast<uint8_t*>(data), length};
}

// One Node-API call: it fails for anything but a number.
double Args::number(const Napi::Value& value, const char* name) const {
  double number = 0;
  if (napi_get_value_double(value.Env(), value, &number) != napi_ok) type_error(name, "a number");
  return number;
}

uint32_t Args::integer_value(const Napi::Value& value, const char* name, uint32_t max, uint32_t min) const {
  double number = this->number(value, name);
  if (!(number >= min && number <= max) || number != std::floor(number))
    range_error(name, ("an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "]").c_str());
  return uint32_t(number);
}

uint32_t Args::integer(size_t index, const char* name, uint32_t max) const {
  return integer_value(info_[index], name, max);
}

uint32_t Args::integer(size_t index, const char* name, uint32_t min, uint32_t max) const {
  return integer_value(info_[index], name, max, min);
}

size_t Args::bytes(size_t index, const char* name) const {
  double number = this->number(info_[index], name);
  if (!(number >= 1 && number < std::ldexp(1.0, 47)) || number != std::floor(number))
    range_error(name, "a whole number of bytes in [1, 2^47)");
  return size_t(number);
}

uintptr_t Args::address(size_t index, const char* name) const {
  double number = this->number(info_[index], name);
  if (!(number >= 0 && number < std::ldexp(1.0, 53)) || number != std::floor(number)) range_error(name, "a whole number in [0, 2^53)");
  return uintptr_t(number);
}

bool Args::boolean(size_t index, const char* name) const {
  if (!info_[index].IsBoolean()) type_error(name, "a boolean");
  return info_[index].As<Napi::Boolean>().Value();
}

std::vector<int32_t> Args::int32s(size_t index, const char* name, size_t length) const {
  Napi::Int32Array given = int32_array(index, name);
  if (given.ElementLength() != length)
    range_error(name, ("an Int32Array of " + std::to_string(length) + " elements, one per page").c_str());
  return std::vector<int32_t>(given.Data(), given.Data() + length);
}

Napi::Int32Array Args::int32_array(size_t index, const char* name) const {
  return typed_array<int32_t>(index, name, napi_int32_array, "an Int32Array");
}

Napi::Float64Array Args::float64_array(size_t index, const char* name, size_t min_length) const {
  Napi::Float64Array array = typed_array<double>(index, name, napi_float64_array, "a Float64Array");
  if (array.ElementLength() < min_length)
    range_error(name, ("a Float64Array of at least " + std::to_string(min_length) + " elements").c_str());
  return array;
}

numa::NodeMask Args::node_list(const Napi::Value& value, const char* name) const {
  if (!value.IsArray()) type_error(name, "an array of node ids");
  Napi::Array list = value.As<Napi::Array>();
  numa::NodeMask mask;
  std::string entry_name = std::string(name) + "[]";
  for (uint32_t i = 0; i < list.Length(); i++)
    mask.add(integer_value(list[i], entry_name.c_str(), numa::NodeMask::kMaxNodes - 1));
  return mask;
}

numa::NodeMask Args::nodes(size_t index, const char* name) const { return node_list(info_[index], name); }

std::vector<int32_t> Args::node_targets(size_t index, const char* name) const {
  Napi::Int32Array given = int32_array(index, name);
  const int32_t* first = given.Data();
  const int32_t* last = first + given.ElementLength();
  const int32_t max = int32_t(numa::NodeMask::kMaxNodes);
  if (given.ElementLength() > size_t(max) || std::any_of(first, last, [&](int32_t node) { return node < -1 || node >= max; }))
    range_error(name, "an Int32Array of at most 1024 entries, each a node id below 1024 or -1");
  return std::vector<int32_t>(first, last);
}

std::vector<int> Args::cpus(size_t index, const char* name) const {
  if (!info_[index].IsArray()) type_error(name, "an array of CPU ids");
  Napi::Array list = info_[index].As<Napi::Array>();
  std::vector<int> cpus;
  std::string entry_name = std::string(name) + "[]";
  for (uint32_t i = 0; i < list.Length(); i++)
    cpus.push_back(int(integer_value(list[i], entry_name.c_str(), CPU_SETSIZE - 1)));
  return cpus;
}

numa::Policy Args::policy(size_t index) const {
  if (!info_[index].IsObject()) type_error("policy", "an object { mode, flags, nodes }");
  Napi::Object object = info_[index].As<Napi::Object>();
  numa::Policy policy;
  // Modes sit below the mode flags, which share the kernel's mode argument.
  policy.mode = int(integer_value(object.Get("mode"), "policy.mode", MPOL_F_NUMA_BALANCING - 1));
  policy.flags = int(integer_value(object.Get("flags"), "policy.flags", MPOL_MODE_FLAGS));
  if (policy.flags & ~MPOL_MODE_FLAGS)
    range_error("policy.flags", "a combination of MPOL_F_STATIC_NODES, MPOL_F_RELATIVE_NODES, MPOL_F_NUMA_BALANCING");
  policy.nodes = node_list(object.Get("nodes"), "policy.nodes");
  return policy;
}

numa::HugePages Args::huge_pages(size_t index, const char* name) const {
  if (!info_[index].IsString()) type_error(name, "'system', 'wanted' or 'unwanted'");
  std::string choice = info_[index].As<Napi::String>().Utf8Value();
  if (choice == "system") return numa::HugePages::kSystemDefault;
  if (choice == "wanted") return numa::HugePages::kWanted;
  if (choice == "unwanted") return numa::HugePages::kUnwanted;
  range_error(name, "'system', 'wanted' or 'unwanted'");
}

// One Node-API call for a boolean; undefined, its default, costs a second.
bool Args::optional_flag(const Napi::Object& options, const char* key) const {
  Napi::Value value = options.Get(key);
  bool flag = false;
  if (napi_get_value_bool(info_.Env(), value, &flag) == napi_ok || value.IsUndefined()) return flag;
  type_error(("options." + std::string(key)).c_str(), "a boolean or undefined");
}

uint32_t Args::optional_count(const Napi::Object& options, const char* key, uint32_t max, uint32_t fallback) const {
  Napi::Value value = options.Get(key);
  return value.IsUndefined() ? fallback : integer_value(value, ("options." + std::string(key)).c_str(), max);
}

MigrationOptions Args::migration_options(size_t index) const {
  if (!info_[index].IsObject()) type_error("options", "an object { moveAll?, prefault?, countMoved?, status?, retries?, retryDelayMs?, maxMoves? }");
  Napi::Object object = info_[index].As<Napi::Object>();
  MigrationOptions options;
  options.move.move_all = optional_flag(object, "moveAll");
  options.move.prefault = optional_flag(object, "prefault");
  options.move.count_moved = optional_flag(object, "countMoved");
  options.status = optional_flag(object, "status");
  options.move.retries = optional_count(object, "retries", kMaxRetries, 1);
  options.move.retry_delay_ms = optional_count(object, "retryDelayMs", kMaxRetryDelayMs, 0);
  options.move.max_moves = optional_count(object, "maxMoves", kMaxPacedMoves, 0);
  return options;
}

std::string Args::c_string(const Napi::Value& value, const char* name) const {
  if (!value.IsString()) type_error(name, "a string");
  std::string text = value.As<Napi::String>().Utf8Value();
  if (text.find('\0') != std::string::npos) range_error(name, "a string without NUL characters (a C string ends at the first)");
  return text;
}

std::string Args::string(size_t index, const char* name) const {
  std::string text = c_string(info_[index], name);
  if (text.empty()) range_error(name, "a non-empty string");
  return text;
}

std::vector<std::string> Args::strings(size_t index, const char* name) const {
  if (!info_[index].IsArray()) type_error(name, "an array of strings");
  Napi::Array list = info_[index].As<Napi::Array>();
  if (list.Length() == 0) range_error(name, "an array of at least one string (argv[0])");
  std::vector<std::string> strings;
  std::string entry_name = std::string(name) + "[]";
  for (uint32_t i = 0; i < list.Length(); i++) strings.push_back(c_string(list[i], entry_name.c_str()));
  return strings;
}

numa::PageSpan span_of_view(Bytes view) {
  return numa::span_of(reinterpret_cast<uintptr_t>(view.data), view.length);
}

}  // namespace glue
