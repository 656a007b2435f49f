// Glue for lib/pages.ts: queryPages, spanOf, prefault.
#include "args.h"
#include "exports.h"
#include "jobs.h"
#include "numa/pages.h"

namespace glue {

// queryPages(view, scratch, counts) -> Int32Array, the node of every page of the
// view: `scratch` itself when the span fits in it, else a new array;
// counts[0] = pages hidden by NUMA balancing, counts[1] = pages. The scratch
// array spares small queries the allocation of an ArrayBuffer, their largest cost.
Napi::Value query_pages(const Napi::CallbackInfo& info) {
  Args args(info, "queryPages");
  Napi::Uint8Array view = args.view(0);
  Napi::Int32Array scratch = args.int32_array(1, "scratch");
  Napi::Float64Array counts = args.float64_array(2, "counts", 2);
  numa::PageSpan span = span_of_view(view);
  Napi::Env env = info.Env();
  Napi::Int32Array status = span.count <= scratch.ElementLength() ? scratch : Napi::Int32Array::New(env, span.count);
  numa::QueryStats stats;
  if (int err = numa::query_nodes(span, status.Data(), &stats)) throw system_error(env, err, "move_pages");
  counts[0] = double(stats.hidden);
  counts[1] = double(span.count);
  return status;
}

// spanOf(view) -> { address: bigint, start: bigint, pages }: the view's address
// and the whole pages it touches.
Napi::Value span_of(const Napi::CallbackInfo& info) {
  Napi::Uint8Array view = Args(info, "spanOf").view(0);
  numa::PageSpan span = span_of_view(view);
  Napi::Env env = info.Env();
  Napi::Object result = Napi::Object::New(env);
  result.Set("address", Napi::BigInt::New(env, uint64_t(reinterpret_cast<uintptr_t>(view.Data()))));
  result.Set("start", Napi::BigInt::New(env, uint64_t(span.start)));
  result.Set("pages", Napi::Number::New(env, double(span.count)));
  return result;
}

// prefault(view): gives every page of the view a page of its own, data unchanged.
Napi::Value prefault(const Napi::CallbackInfo& info) {
  Napi::Uint8Array view = Args(info, "prefault").view(0);
  if (int err = numa::prefault_write(span_of_view(view))) throw system_error(info.Env(), err, "madvise");
  return info.Env().Undefined();
}

}  // namespace glue
