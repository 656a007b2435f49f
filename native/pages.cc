// Glue for lib/pages.ts: pageQuery, spanOf, prefault.
#include "args.h"
#include "exports.h"
#include "jobs.h"
#include "numa/pages.h"

#include <memory>
#include <vector>

namespace glue {

namespace {

// Where a query function writes the statuses of a span that fits, and its
// counts: arrays given once by each copy of lib/pages.ts in a JS environment
// (the main thread or a worker; two copies of the package can share one addon
// when they load the same file). Reading them through Node-API on every call
// cost a 1-page query ~280 ns of ~1.75 µs on the 2-CPU host, and passing a
// slot number to look them up ~150 of its ~1,750 user-space instructions: the
// function carries them as its data instead. Their data pointers stay valid:
// the references keep the arrays alive, reading a typed array through
// Node-API moves its data off the JS heap for good, and lib/pages.ts never
// hands them out, so nothing can detach them.
struct QueryArrays {
  Napi::Reference<Napi::Int32Array> scratch_ref;
  Napi::Reference<Napi::Float64Array> counts_ref;
  int32_t* scratch = nullptr;
  size_t capacity = 0;
  double* counts = nullptr;
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
      QueryArrays{Napi::Persistent(scratch), Napi::Persistent(counts), scratch.Data(), scratch.ElementLength(), counts.Data()}));
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
