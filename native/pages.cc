// Glue for lib/pages.ts: pageQuery, spanOf, prefault.
#include "args.h"
#include "exports.h"
#include "jobs.h"
#include "numa/query.h"

#include <memory>
#include <vector>

namespace glue {

namespace {

// Where a query function writes the statuses of a span that fits, and its
// counts: arrays given once by each copy of lib/pages.ts in a JS environment
// (the main thread or a worker; two copies of the package can share one addon
// when they load the same file). The function carries them as its data: a
// slot number to look them up cost a 1-page query more than checking them.
// Checked on every call: the references keep the arrays, not their memory,
// which whoever holds them can detach (transfer) and the GC then free.
struct QueryArrays {
  Napi::Reference<Napi::Int32Array> scratch_ref;
  Napi::Reference<Napi::Float64Array> counts_ref;
  int32_t* scratch = nullptr;
  size_t capacity = 0;
  double* counts = nullptr;
  size_t counts_length = 0;

  // Whether both arrays still have the memory they were registered with.
  bool intact() const { return holds(scratch_ref, scratch, capacity) && holds(counts_ref, counts, counts_length); }

  template <typename Array>
  static bool holds(const Napi::Reference<Array>& ref, const void* memory, size_t elements) {
    napi_typedarray_type type;
    size_t length = 0;
    void* data = nullptr;
    napi_get_typedarray_info(ref.Env(), ref.Value(), &type, &length, &data, nullptr, nullptr);
    return data == memory && length == elements;
  }
};

// Every set of arrays of this environment, deleted with it. Owned one by one:
// the functions hold pointers to them.
using Registrations = std::vector<std::unique_ptr<QueryArrays>>;

// queryPages(view) -> Int32Array | undefined, the node of every page of the
// view: undefined when the span fits in the scratch array, which then holds
// them, else a new array; counts[0] = pages hidden by NUMA balancing,
// counts[1] = pages. The scratch array spares small queries the allocation of
// an ArrayBuffer, their largest cost.
Napi::Value query_pages(const Napi::CallbackInfo& info) {
  Bytes view = Args(info, "queryPages").view(0);
  QueryArrays& arrays = *static_cast<QueryArrays*>(info.Data());
  if (!arrays.intact())
    throw Napi::TypeError::New(info.Env(), "queryPages: the scratch or counts array given to pageQuery was detached; make a new query function");
  numa::PageSpan span = span_of_view(view);
  bool fits = span.count <= arrays.capacity;
  Napi::Int32Array status = fits ? Napi::Int32Array() : Napi::Int32Array::New(info.Env(), span.count);
  numa::QueryStats stats;
  if (int err = numa::query_nodes(span, fits ? arrays.scratch : status.Data(), &stats)) throw system_error(info.Env(), err, "move_pages");
  arrays.counts[0] = double(stats.hidden);
  arrays.counts[1] = double(span.count);
  return fits ? info.Env().Undefined() : Napi::Value(status);
}

}  // namespace

// pageQuery(scratch, counts) -> queryPages: a query function that writes into
// these arrays, for the lifetime of this environment.
Napi::Value page_query(const Napi::CallbackInfo& info) {
  Args args(info, "pageQuery");
  Napi::Int32Array scratch = args.int32_array(0, "scratch");
  Napi::Float64Array counts = args.float64_array(1, "counts", 2);
  Napi::Env env = info.Env();
  auto* registrations = env.GetInstanceData<Registrations>();
  if (!registrations) {
    registrations = new Registrations;
    env.SetInstanceData(registrations);  // deleted, references and all, when the environment ends
  }
  registrations->push_back(std::make_unique<QueryArrays>(
      QueryArrays{Napi::Persistent(scratch), Napi::Persistent(counts), scratch.Data(), scratch.ElementLength(), counts.Data(), counts.ElementLength()}));
  return Napi::Function::New(env, query_pages, "queryPages", registrations->back().get());
}

// spanOf(view) -> { address: bigint, start: bigint, pages }: the view's address
// and the whole pages it touches.
Napi::Value span_of(const Napi::CallbackInfo& info) {
  Bytes view = Args(info, "spanOf").view(0);
  numa::PageSpan span = span_of_view(view);
  Napi::Env env = info.Env();
  Napi::Object result = Napi::Object::New(env);
  result.Set("address", Napi::BigInt::New(env, uint64_t(reinterpret_cast<uintptr_t>(view.data))));
  result.Set("start", Napi::BigInt::New(env, uint64_t(span.start)));
  result.Set("pages", Napi::Number::New(env, double(span.count)));
  return result;
}

// prefault(view): gives every page of the view a page of its own, data unchanged.
Napi::Value prefault(const Napi::CallbackInfo& info) {
  if (int err = numa::prefault_write(span_of_view(Args(info, "prefault").view(0)))) throw system_error(info.Env(), err, "madvise");
  return info.Env().Undefined();
}

}  // namespace glue
