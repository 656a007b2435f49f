// Glue for lib/process.ts: migrateProcess(pid, from, to) and
// migrateProcessAsync(...) -> Promise: migrate_pages, which for a large
// process takes as long as copying its memory, hence the async form; and
// moveProcessRange(pid, start, pages, mappingEnd, pageBytes, targets, options)
// and moveProcessRangeAsync(...) -> Promise, a range of its pages moved by
// move_pages (mappingEnd: the end of the mapping it lies in, up to which a
// hole at its start is crossed; nodeTargets: an Int32Array by node id, -1 for
// pages that stay; options: { moveAll?, maxMoves? }). Result: { pages, moved,
// hidden, failed: { status: pages }, elsewhere: { node: pages }, callNs }
// (callNs: the time of the move_pages call, in ns).
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

class ProcessRangeJob {
 public:
  ProcessRangeJob(const Napi::CallbackInfo& info, const char* function) {
    Args args(info, function);
    range_.pid = int(args.integer(0, "pid", numa::kPidMaxLimit - 1));
    range_.start = args.address(1, "start");
    range_.count = args.integer(2, "pages", 1, uint32_t(numa::kChunkPages));
    range_.mapping_end = args.address(3, "mappingEnd");
    range_.page_bytes = args.bytes(4, "pageBytes");
    range_.targets = args.node_targets(5, "nodeTargets");
    numa::MoveOptions options = args.migration_options(6).move;
    range_.move_all = options.move_all;
    range_.max_moves = options.max_moves;
  }

  void execute() { outcome_ = numa::move_process_range(range_); }

  Napi::Value settle(Napi::Env env) const {
    if (outcome_.error) throw system_error(env, outcome_.error, outcome_.syscall);
    auto number = [&](size_t value) { return Napi::Number::New(env, double(value)); };
    Napi::Object result = Napi::Object::New(env);
    result.Set("pages", number(outcome_.pages));
    result.Set("moved", number(outcome_.moved));
    result.Set("hidden", number(outcome_.hidden));
    result.Set("failed", page_counts(env, outcome_.failed));
    result.Set("elsewhere", page_counts(env, outcome_.elsewhere));
    result.Set("callNs", call_times(env, outcome_.call_ns));
    return result;
  }

 private:
  numa::ProcessRange range_;
  numa::ProcessRangeOutcome outcome_;
};

}  // namespace

Napi::Value migrate_process(const Napi::CallbackInfo& info) {
  return run_inline(info.Env(), ProcessMigrationJob(info, "migrateProcess"));
}

Napi::Value migrate_process_async(const Napi::CallbackInfo& info) {
  return run_on_pool(info.Env(), "numaplace.migrateProcess", ProcessMigrationJob(info, "migrateProcessAsync"));
}

Napi::Value move_process_range(const Napi::CallbackInfo& info) {
  return run_inline(info.Env(), ProcessRangeJob(info, "moveProcessRange"));
}

Napi::Value move_process_range_async(const Napi::CallbackInfo& info) {
  return run_on_pool(info.Env(), "numaplace.moveProcessRange", ProcessRangeJob(info, "moveProcessRangeAsync"));
}

}  // namespace glue
