// migrate(view, target, flags, prefault) and migrateAsync(...) -> Promise:
// move the pages of a view to one node (target: number) or per page (target: Int32Array).
// Result: { before: Int32Array, status: Int32Array, hidden, elapsedNs }.
#include <napi.h>

#include <string>
#include <utility>
#include <vector>

#include "errors.h"
#include "exports.h"
#include "numa/migrate.h"
#include "promise_worker.h"
#include "view.h"

namespace glue {
namespace {

constexpr int kMpolMfMove = 1 << 1;
constexpr int kMpolMfMoveAll = 1 << 2;

// Reads the arguments shared by the sync and async forms. Per-page targets are
// copied so the caller may reuse its array while an async move runs.
numa::Migration migration_arguments(const Napi::CallbackInfo& info, const char* function,
                                    const Napi::Uint8Array& view, std::vector<int32_t>* targets) {
  Napi::Env env = info.Env();
  numa::Migration request;
  request.span = span_of_view(view);
  if (info[1].IsNumber()) {
    request.node = info[1].As<Napi::Number>().Int32Value();
    if (request.node < 0 || double(request.node) != info[1].As<Napi::Number>().DoubleValue())
      throw Napi::RangeError::New(env, std::string(function) + ": node must be a non-negative integer");
  } else if (std::optional<Napi::Int32Array> given = typed_array_of<int32_t>(info[1], napi_int32_array)) {
    if (given->ElementLength() != request.span.count)
      throw Napi::RangeError::New(env, std::string(function) + ": targets must have one entry per page");
    targets->assign(given->Data(), given->Data() + given->ElementLength());
    request.targets = targets->data();
  } else {
    throw Napi::TypeError::New(env, std::string(function) + ": target must be a node id or an Int32Array");
  }
  int flags = info[2].IsNumber() ? info[2].As<Napi::Number>().Int32Value() : -1;
  if (flags != kMpolMfMove && flags != kMpolMfMoveAll)
    throw Napi::RangeError::New(env, std::string(function) + ": flags must be MPOL_MF_MOVE or MPOL_MF_MOVE_ALL");
  request.flags = flags;
  request.prefault = info[3].ToBoolean();
  return request;
}

Napi::Object migration_result(Napi::Env env, Napi::Int32Array before, Napi::Int32Array after,
                              const numa::MigrationOutcome& outcome) {
  Napi::Object result = Napi::Object::New(env);
  result.Set("before", before);
  result.Set("status", after);
  result.Set("hidden", Napi::Number::New(env, double(outcome.stats.hidden)));
  result.Set("elapsedNs", Napi::Number::New(env, double(outcome.elapsed_ns)));
  return result;
}

// Runs numa::migrate on a pool thread. Holds references to the view and the
// output arrays so their memory outlives the work; touches no JS on the pool.
class MigrationWorker : public PromiseWorker {
 public:
  MigrationWorker(Napi::Env env, Napi::Uint8Array view, numa::Migration request,
                  std::vector<int32_t> targets)
      : PromiseWorker(env, "numaplace.migrate"),
        targets_(std::move(targets)),
        request_(request),
        view_(Napi::Persistent(view)),
        before_(Napi::Persistent(Napi::Int32Array::New(env, request.span.count))),
        after_(Napi::Persistent(Napi::Int32Array::New(env, request.span.count))),
        before_data_(before_.Value().Data()),
        after_data_(after_.Value().Data()) {
    if (request_.targets) request_.targets = targets_.data();
  }


 protected:
  void Execute() override { outcome_ = numa::migrate(request_, before_data_, after_data_); }

  void OnOK() override {
    Napi::Env env = Env();
    if (outcome_.error)
      deferred_.Reject(system_error(env, outcome_.error, outcome_.syscall).Value());
    else
      deferred_.Resolve(migration_result(env, before_.Value(), after_.Value(), outcome_));
  }

 private:
  std::vector<int32_t> targets_;
  numa::Migration request_;
  Napi::Reference<Napi::Uint8Array> view_;
  Napi::Reference<Napi::Int32Array> before_;
  Napi::Reference<Napi::Int32Array> after_;
  int32_t* before_data_;
  int32_t* after_data_;
  numa::MigrationOutcome outcome_;
};

Napi::Value migrate_sync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Uint8Array view = view_argument(info[0], "migrate");
  std::vector<int32_t> targets;
  numa::Migration request = migration_arguments(info, "migrate", view, &targets);
  Napi::Int32Array before = Napi::Int32Array::New(env, request.span.count);
  Napi::Int32Array after = Napi::Int32Array::New(env, request.span.count);
  numa::MigrationOutcome outcome = numa::migrate(request, before.Data(), after.Data());
  if (outcome.error) throw system_error(env, outcome.error, outcome.syscall);
  return migration_result(env, before, after, outcome);
}

Napi::Value migrate_async(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Uint8Array view = view_argument(info[0], "migrateAsync");
  std::vector<int32_t> targets;
  numa::Migration request = migration_arguments(info, "migrateAsync", view, &targets);
  return (new MigrationWorker(env, view, request, std::move(targets)))->start();
}

}  // namespace

void register_move(Napi::Env env, Napi::Object exports) {
  exports.Set("migrate", Napi::Function::New(env, migrate_sync, "migrate"));
  exports.Set("migrateAsync", Napi::Function::New(env, migrate_async, "migrateAsync"));
}

}  // namespace glue
