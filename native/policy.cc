// Memory policy glue: bindRange, rangePolicy, nodeOfAddress, threadPolicy,
// setThreadPolicy, setHomeNode. Policies cross as
// (mode, flags, nodes: number[]) with the kernel's MPOL_* numbers.
#include <napi.h>

#include <string>

#include "errors.h"
#include "exports.h"
#include "numa/policy.h"
#include "policy_args.h"
#include "view.h"

namespace glue {

numa::NodeMask node_mask_argument(const Napi::Value& value, const char* function) {
  Napi::Env env = value.Env();
  if (!value.IsArray()) throw Napi::TypeError::New(env, std::string(function) + ": nodes must be an array");
  Napi::Array list = value.As<Napi::Array>();
  numa::NodeMask mask;
  for (uint32_t i = 0; i < list.Length(); i++) {
    Napi::Value entry = list[i];
    double node = entry.IsNumber() ? entry.As<Napi::Number>().DoubleValue() : -1;
    if (!(node >= 0 && node < numa::NodeMask::kMaxNodes) || node != double(int(node)))
      throw Napi::RangeError::New(env, std::string(function) + ": node ids must be integers in [0, 1024)");
    mask.add(unsigned(node));
  }
  return mask;
}

numa::Policy policy_arguments(const Napi::CallbackInfo& info, size_t first, const char* function) {
  numa::Policy policy;
  policy.mode = info[first].As<Napi::Number>().Int32Value();
  policy.flags = info[first + 1].As<Napi::Number>().Int32Value();
  policy.nodes = node_mask_argument(info[first + 2], function);
  return policy;
}

Napi::Object policy_object(Napi::Env env, const numa::Policy& policy) {
  Napi::Array nodes = Napi::Array::New(env);
  for (unsigned node = 0, count = 0; node < numa::NodeMask::kMaxNodes; node++)
    if (policy.nodes.has(node)) nodes.Set(count++, Napi::Number::New(env, node));
  Napi::Object result = Napi::Object::New(env);
  result.Set("mode", Napi::Number::New(env, policy.mode));
  result.Set("flags", Napi::Number::New(env, policy.flags));
  result.Set("nodes", nodes);
  return result;
}

namespace {

Napi::Value bind_range(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Uint8Array view = view_argument(info[0], "bindRange");
  numa::Policy policy = policy_arguments(info, 1, "bindRange");
  int move_flags = info[4].As<Napi::Number>().Int32Value();
  if (int err = numa::bind_range(span_of_view(view), policy, move_flags)) throw system_error(env, err, "mbind");
  return env.Undefined();
}

Napi::Value range_policy(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Uint8Array view = view_argument(info[0], "rangePolicy");
  numa::Policy policy;
  if (int err = numa::range_policy(span_of_view(view).start, &policy))
    throw system_error(env, err, "get_mempolicy");
  return policy_object(env, policy);
}

Napi::Value node_of_address(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Uint8Array view = view_argument(info[0], "nodeOfAddress");
  int node = -1;
  if (int err = numa::node_of_address(reinterpret_cast<uintptr_t>(view.Data()), &node))
    throw system_error(env, err, "get_mempolicy");
  return Napi::Number::New(env, node);
}

Napi::Value thread_policy(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  numa::Policy policy;
  if (int err = numa::thread_policy(&policy)) throw system_error(env, err, "get_mempolicy");
  return policy_object(env, policy);
}

Napi::Value set_thread_policy(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (int err = numa::set_thread_policy(policy_arguments(info, 0, "setThreadPolicy")))
    throw system_error(env, err, "set_mempolicy");
  return env.Undefined();
}

Napi::Value set_home_node(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Uint8Array view = view_argument(info[0], "setHomeNode");
  if (int err = numa::set_home_node(span_of_view(view), info[1].As<Napi::Number>().Int32Value()))
    throw system_error(env, err, "set_mempolicy_home_node");
  return env.Undefined();
}

}  // namespace

void register_policy(Napi::Env env, Napi::Object exports) {
  exports.Set("bindRange", Napi::Function::New(env, bind_range, "bindRange"));
  exports.Set("rangePolicy", Napi::Function::New(env, range_policy, "rangePolicy"));
  exports.Set("nodeOfAddress", Napi::Function::New(env, node_of_address, "nodeOfAddress"));
  exports.Set("threadPolicy", Napi::Function::New(env, thread_policy, "threadPolicy"));
  exports.Set("setThreadPolicy", Napi::Function::New(env, set_thread_policy, "setThreadPolicy"));
  exports.Set("setHomeNode", Napi::Function::New(env, set_home_node, "setHomeNode"));
}

}  // namespace glue
