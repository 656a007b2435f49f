// Glue for lib/migrate.ts: migrate(view, target, flags, prefault) and
// migrateAsync(...) -> Promise move the pages of a view to one node (target: a
// node id) or page by page (target: an Int32Array with one node per page).
// Result: { before: Int32Array, status: Int32Array, hidden, elapsedNs }.
#include "args.h"
#include "exports.h"
#include "jobs.h"
#include "numa/migrate.h"

#include <algorithm>
#include <cstdint>
#include <vector>

namespace glue {
namespace {

class MigrationJob {
 public:
  MigrationJob(const Napi::CallbackInfo& info, const char* function) {
    Args args(info, function);
    request_.span = span_of_view(args.view(0));
    if (args.is_number(1))
      request_.node = int(args.integer(1, "target", INT32_MAX));  // the kernel says ENODEV
    else
      request_.targets = args.int32s(1, "target", request_.span.count);
    request_.flags = args.move_flags(2, "flags");
    request_.prefault = args.boolean(3, "prefault");
  }

  void execute() {
    before_.resize(request_.span.count);
    status_.resize(request_.span.count);
    outcome_ = numa::migrate(request_, before_.data(), status_.data());
  }

  Napi::Value settle(Napi::Env env) const {
    if (outcome_.error) throw system_error(env, outcome_.error, outcome_.syscall);
    Napi::Object result = Napi::Object::New(env);
    result.Set("before", int32_array(env, before_));
    result.Set("status", int32_array(env, status_));
    result.Set("hidden", Napi::Number::New(env, double(outcome_.stats.hidden)));
    result.Set("elapsedNs", Napi::Number::New(env, double(outcome_.elapsed_ns)));
    return result;
  }

 private:
  static Napi::Int32Array int32_array(Napi::Env env, const std::vector<int32_t>& values) {
    Napi::Int32Array array = Napi::Int32Array::New(env, values.size());
    std::copy(values.begin(), values.end(), array.Data());
    return array;
  }

  numa::Migration request_;
  std::vector<int32_t> before_;
  std::vector<int32_t> status_;
  numa::MigrationOutcome outcome_;
};

}  // namespace

Napi::Value migrate(const Napi::CallbackInfo& info) {
  return run_inline(info.Env(), MigrationJob(info, "migrate"));
}

Napi::Value migrate_async(const Napi::CallbackInfo& info) {
  // The view's memory is the job's: it stays referenced until the move is done.
  return run_on_pool(info.Env(), "numaplace.migrate", MigrationJob(info, "migrateAsync"), {info[0]});
}

}  // namespace glue
