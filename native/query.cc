// queryPages(view, scratch, counts) -> Int32Array, the node of every page of the
// view: `scratch` itself when the span fits in it (counts[1] = pages), else a
// new array; counts[0] = pages hidden by NUMA balancing. The scratch array
// spares small queries the allocation of an ArrayBuffer, their largest cost.
// spanOf(view) -> { address: bigint, start: bigint, pages }: the view's address and
// the whole pages it touches.
#include <napi.h>

#include "errors.h"
#include "exports.h"
#include "numa/pages.h"
#include "view.h"

namespace glue {

static Napi::Value query_pages(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Uint8Array view = view_argument(info[0], "queryPages");
  std::optional<Napi::Int32Array> scratch = typed_array_of<int32_t>(info[1], napi_int32_array);
  if (!scratch) throw Napi::TypeError::New(env, "queryPages: scratch must be an Int32Array");
  std::optional<Napi::Float64Array> counts = typed_array_of<double>(info[2], napi_float64_array);
  if (!counts || counts->ElementLength() < 2)
    throw Napi::TypeError::New(env, "queryPages: counts must be a Float64Array of two elements");
  numa::PageSpan span = span_of_view(view);
  Napi::Int32Array status = span.count <= scratch->ElementLength() ? *scratch : Napi::Int32Array::New(env, span.count);
  numa::QueryStats stats;
  if (int err = numa::query_nodes(span, status.Data(), &stats))
    throw system_error(env, err, "move_pages");
  (*counts)[0] = double(stats.hidden);
  (*counts)[1] = double(span.count);
  return status;
}

static Napi::Value span_of(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Uint8Array view = view_argument(info[0], "spanOf");
  numa::PageSpan span = span_of_view(view);
  Napi::Object result = Napi::Object::New(env);
  result.Set("address", Napi::BigInt::New(env, uint64_t(reinterpret_cast<uintptr_t>(view.Data()))));
  result.Set("start", Napi::BigInt::New(env, uint64_t(span.start)));
  result.Set("pages", Napi::Number::New(env, double(span.count)));
  return result;
}

// prefault(view): gives every page of the view a page of its own, data unchanged.
static Napi::Value prefault(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Uint8Array view = view_argument(info[0], "prefault");
  if (int err = numa::prefault_write(span_of_view(view))) throw system_error(env, err, "madvise");
  return env.Undefined();
}

void register_query(Napi::Env env, Napi::Object exports) {
  exports.Set("queryPages", Napi::Function::New(env, query_pages, "queryPages"));
  exports.Set("spanOf", Napi::Function::New(env, span_of, "spanOf"));
  exports.Set("prefault", Napi::Function::New(env, prefault, "prefault"));
}

}  // namespace glue
