// Whole-process migration glue: migrateProcess (sync) and migrateProcessAsync
// (libuv pool). migrate_pages of a large process takes as long as copying its
// memory, so the async form keeps the event loop free meanwhile.
#include <napi.h>

#include <string>

#include "errors.h"
#include "exports.h"
#include "numa/policy.h"
#include "policy_args.h"
#include "promise_worker.h"

namespace glue {
namespace {

struct ProcessMigration {
  int pid = 0;
  numa::NodeMask from;
  numa::NodeMask to;
};

ProcessMigration process_migration_arguments(const Napi::CallbackInfo& info, const char* function) {
  Napi::Env env = info.Env();
  double pid = info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : -1;
  if (!(pid >= 0 && pid <= 0x3fffffff) || pid != double(int(pid)))
    throw Napi::RangeError::New(env, std::string(function) + ": pid must be a process id");
  return {int(pid), node_mask_argument(info[1], function), node_mask_argument(info[2], function)};
}

class ProcessMigrationWorker : public PromiseWorker {
 public:
  ProcessMigrationWorker(Napi::Env env, ProcessMigration request)
      : PromiseWorker(env, "numaplace.migrateProcess"), request_(request) {}

 protected:
  void Execute() override { left_ = numa::migrate_process(request_.pid, request_.from, request_.to); }

  void OnOK() override {
    Napi::Env env = Env();
    if (left_ < 0)
      deferred_.Reject(system_error(env, int(left_), "migrate_pages").Value());
    else
      deferred_.Resolve(Napi::Number::New(env, double(left_)));
  }

 private:
  ProcessMigration request_;
  long left_ = 0;
};

Napi::Value migrate_process_sync(const Napi::CallbackInfo& info) {
  ProcessMigration request = process_migration_arguments(info, "migrateProcess");
  long left = numa::migrate_process(request.pid, request.from, request.to);
  if (left < 0) throw system_error(info.Env(), int(left), "migrate_pages");
  return Napi::Number::New(info.Env(), double(left));
}

Napi::Value migrate_process_async(const Napi::CallbackInfo& info) {
  return (new ProcessMigrationWorker(info.Env(), process_migration_arguments(info, "migrateProcessAsync")))->start();
}

}  // namespace

void register_process(Napi::Env env, Napi::Object exports) {
  exports.Set("migrateProcess", Napi::Function::New(env, migrate_process_sync, "migrateProcess"));
  exports.Set("migrateProcessAsync", Napi::Function::New(env, migrate_process_async, "migrateProcessAsync"));
}

}  // namespace glue
