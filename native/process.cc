// Glue for lib/process.ts: migrateProcess(pid, from, to) and
// migrateProcessAsync(...) -> Promise: migrate_pages, which for a large
// process takes as long as copying its memory, hence the async form.
#include "args.h"
#include "exports.h"
#include "jobs.h"
#include "numa/kernel.h"
#include "numa/process.h"

namespace glue {
namespace {

class ProcessMigrationJob {
 public:
  ProcessMigrationJob(const Napi::CallbackInfo& info, const char* function) {
    Args args(info, function);
    pid_ = int(args.integer(0, "pid", numa::kPidMaxLimit - 1));
    from_ = args.nodes(1, "fromNodes");
    to_ = args.nodes(2, "toNodes");
  }

  void execute() { left_ = numa::migrate_process(pid_, from_, to_); }

  // The number of pages that could not be moved.
  Napi::Value settle(Napi::Env env) const {
    if (left_ < 0) throw system_error(env, int(left_), "migrate_pages");
    return Napi::Number::New(env, double(left_));
  }

 private:
  int pid_ = 0;
  numa::NodeMask from_;
  numa::NodeMask to_;
  long left_ = 0;
};

}  // namespace

Napi::Value migrate_process(const Napi::CallbackInfo& info) {
  return run_inline(info.Env(), ProcessMigrationJob(info, "migrateProcess"));
}

Napi::Value migrate_process_async(const Napi::CallbackInfo& info) {
  return run_on_pool(info.Env(), "numaplace.migrateProcess", ProcessMigrationJob(info, "migrateProcessAsync"));
}

}  // namespace glue
