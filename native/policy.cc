// Glue for lib/policy.ts: bindRange, rangePolicy, nodeOfAddress, threadPolicy,
// allowedNodes (for lib/preconditions.ts), setThreadPolicy, setHomeNode. A policy crosses as one object
// { mode, flags, nodes: number[] } in the kernel's MPOL_* numbers, both ways.
#include "args.h"
#include "exports.h"
#include "jobs.h"
#include "numa/kernel.h"
#include "numa/policy.h"

namespace glue {
namespace {

Napi::Array node_array(Napi::Env env, const numa::NodeMask& mask) {
  Napi::Array nodes = Napi::Array::New(env);
  for (unsigned node = 0, count = 0; node < numa::NodeMask::kMaxNodes; node++)
    if (mask.has(node)) nodes.Set(count++, Napi::Number::New(env, node));
  return nodes;
}

Napi::Object policy_object(Napi::Env env, const numa::Policy& policy) {
  Napi::Object result = Napi::Object::New(env);
  result.Set("mode", Napi::Number::New(env, policy.mode));
  result.Set("flags", Napi::Number::New(env, policy.flags));
  result.Set("nodes", node_array(env, policy.nodes));
  return result;
}

}  // namespace

// bindRange(view, policy, moveFlags): mbind on the view's whole pages.
Napi::Value bind_range(const Napi::CallbackInfo& info) {
  Args args(info, "bindRange");
  numa::PageSpan span = span_of_view(args.view(0));
  numa::Policy policy = args.policy(1);
  int move_flags = int(args.integer(2, "moveFlags", MPOL_MF_VALID));  // any of STRICT, MOVE, MOVE_ALL
  if (int err = numa::bind_range(span, policy, move_flags)) throw system_error(info.Env(), err, "mbind");
  return info.Env().Undefined();
}

Napi::Value range_policy(const Napi::CallbackInfo& info) {
  numa::PageSpan span = span_of_view(Args(info, "rangePolicy").view(0));
  numa::Policy policy;
  if (int err = numa::range_policy(span.start, &policy)) throw system_error(info.Env(), err, "get_mempolicy");
  return policy_object(info.Env(), policy);
}

Napi::Value node_of_address(const Napi::CallbackInfo& info) {
  Bytes view = Args(info, "nodeOfAddress").view(0);
  int node = -1;
  if (int err = numa::node_of_address(reinterpret_cast<uintptr_t>(view.data), &node))
    throw system_error(info.Env(), err, "get_mempolicy");
  return Napi::Number::New(info.Env(), node);
}

Napi::Value thread_policy(const Napi::CallbackInfo& info) {
  numa::Policy policy;
  if (int err = numa::thread_policy(&policy)) throw system_error(info.Env(), err, "get_mempolicy");
  return policy_object(info.Env(), policy);
}

Napi::Value allowed_nodes(const Napi::CallbackInfo& info) {
  numa::NodeMask nodes;
  if (int err = numa::allowed_nodes(&nodes)) throw system_error(info.Env(), err, "get_mempolicy");
  return node_array(info.Env(), nodes);
}

Napi::Value set_thread_policy(const Napi::CallbackInfo& info) {
  numa::Policy policy = Args(info, "setThreadPolicy").policy(0);
  if (int err = numa::set_thread_policy(policy)) throw system_error(info.Env(), err, "set_mempolicy");
  return info.Env().Undefined();
}

Napi::Value set_home_node(const Napi::CallbackInfo& info) {
  Args args(info, "setHomeNode");
  numa::PageSpan span = span_of_view(args.view(0));
  int node = int(args.integer(1, "node", INT32_MAX));  // the kernel says EINVAL for a node not online
  if (int err = numa::set_home_node(span, node)) throw system_error(info.Env(), err, "set_mempolicy_home_node");
  return info.Env().Undefined();
}

}  // namespace glue
