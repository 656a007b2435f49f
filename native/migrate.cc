// Glue for lib/migrate.ts: the pages of a view moved to one node,
// migrate(view, node, options) and migrateAsync(...) -> Promise, or page by
// page, movePages(view, targets, options) and movePagesAsync(...) -> Promise,
// targets an Int32Array with one node per page. options: { moveAll?,
// prefault?, countMoved?, status?, retries?, retryDelayMs?, maxMoves? }.
// Result: { onNode, moved?, notPresent, failed: { status: Int32Array of page
// indexes }, elsewhere?: { node: pages }, hidden, hugePages, calls,
// elapsedNs, status?, pages?, callNs? } (moved with countMoved; status when
// wanted, always for per-page targets; elsewhere when pages are on other nodes;
// pages handled and callNs, the time of each move_pages call, when paced by
// maxMoves); a page counts as on its node when it is on its target.
#include "args.h"
#include "exports.h"
#include "jobs.h"
#include "numa/migrate.h"

#include <algorithm>
#include <cstdint>
#include <vector>

namespace glue {
namespace {

// Where the pages go: one node for all, or one node per page.
enum class Targets { kOneNode, kPerPage };

class MigrationJob {
 public:
  MigrationJob(const Napi::CallbackInfo& info, const char* function, Targets targets) {
    Args args(info, function);
    request_.span = span_of_view(args.view(0));
    if (targets == Targets::kOneNode)
      request_.node = int(args.integer(1, "node", INT32_MAX));  // the kernel says ENODEV
    else
      request_.targets = args.int32s(1, "targets", request_.span.count);
    MigrationOptions options = args.migration_options(2);
    request_.options = options.move;
    want_status_ = options.status || targets == Targets::kPerPage;
  }

  void execute() {
    // Only counted: the statuses go to an array this thread keeps (numa/span.h
    // says why), as long as a default chunk at most, so that it stays small; a
    // larger chunk, or statuses for the caller, get the job's own array.
    if (want_status_ || request_.span.count > numa::kChunkPages) {
      status_.resize(request_.span.count);
      outcome_ = numa::migrate(request_, status_.data());
      status_.resize(outcome_.pages);
      return;
    }
    thread_local std::vector<int32_t> counted(numa::kChunkPages);
    outcome_ = numa::migrate(request_, counted.data());
  }

  Napi::Value settle(Napi::Env env) const {
    if (outcome_.error) throw system_error(env, outcome_.error, outcome_.syscall);
    auto number = [&](size_t value) { return Napi::Number::New(env, double(value)); };
    Napi::Object result = Napi::Object::New(env);
    const numa::MigrationCounts& counts = outcome_.counts;
    result.Set("onNode", number(counts.on_node));
    if (request_.options.count_moved) result.Set("moved", number(counts.moved));
    result.Set("notPresent", number(counts.not_present));
    Napi::Object failed = Napi::Object::New(env);
    for (const auto& [status, pages] : counts.failed) failed.Set(Napi::Number::New(env, status), int32_array(env, pages));
    result.Set("failed", failed);
    result.Set("hidden", number(outcome_.stats.hidden));
    result.Set("hugePages", number(outcome_.stats.huge_pages));
    result.Set("calls", number(outcome_.stats.calls));
    result.Set("elapsedNs", number(outcome_.elapsed_ns));
    if (want_status_) result.Set("status", int32_array(env, status_));
    if (!outcome_.stats.elsewhere.empty()) result.Set("elsewhere", page_counts(env, outcome_.stats.elsewhere));
    if (request_.options.max_moves) {
      result.Set("pages", number(outcome_.pages));
      result.Set("callNs", call_times(env, outcome_.call_ns));
    }
    return result;
  }

 private:
  template <typename T>
  static Napi::Int32Array int32_array(Napi::Env env, const std::vector<T>& values) {
    Napi::Int32Array array = Napi::Int32Array::New(env, values.size());
    std::copy(values.begin(), values.end(), array.Data());
    return array;
  }

  numa::Migration request_;
  bool want_status_ = false;
  std::vector<int32_t> status_;
  numa::MigrationOutcome outcome_;
};

// The async forms hold the view until the move is done, and check it then.
Napi::Value on_pool(const Napi::CallbackInfo& info, const char* function, Targets targets) {
  return run_on_pool(info.Env(), "numaplace.migrate", MigrationJob(info, function, targets), HeldView{info[0], "move_pages"});
}

}  // namespace

Napi::Value migrate(const Napi::CallbackInfo& info) {
  return run_inline(info.Env(), MigrationJob(info, "migrate", Targets::kOneNode));
}

Napi::Value migrate_async(const Napi::CallbackInfo& info) { return on_pool(info, "migrateAsync", Targets::kOneNode); }

Napi::Value move_pages(const Napi::CallbackInfo& info) {
  return run_inline(info.Env(), MigrationJob(info, "movePages", Targets::kPerPage));
}

Napi::Value move_pages_async(const Napi::CallbackInfo& info) { return on_pool(info, "movePagesAsync", Targets::kPerPage); }

}  // namespace glue
