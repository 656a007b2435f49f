// How a native export's outcome reaches JavaScript.
//
// A system call that failed becomes a JS Error with `errno` (negative),
// `code` ('ENODEV') and `syscall`: fields, never text to parse; lib/errors.ts
// writes the message a user reads.
//
// An export that has a sync and an async form is one job: plain data that
// owns its arrays, `execute()` does the work without Node-API (so it may run
// on a libuv pool thread), `settle(env)` runs on the JS thread and returns the
// result or throws. run_inline() is the sync form; run_on_pool() the async
// one, which returns a Promise and holds the JS values whose memory the job
// works on until it settles.
#pragma once

#include <napi.h>

#include <cerrno>
#include <cstdint>
#include <exception>
#include <map>
#include <optional>
#include <utility>
#include <vector>

namespace glue {

Napi::Error system_error(Napi::Env env, int negative_errno, const char* syscall);

// Page counts by a number (a node, a status) as an object { number: pages }.
Napi::Object page_counts(Napi::Env env, const std::map<int32_t, size_t>& pages_by);

// The time of each move_pages call of a paced move, in ns.
Napi::Float64Array call_times(Napi::Env env, const std::vector<uint64_t>& call_ns);

template <typename Job>
Napi::Value run_inline(Napi::Env env, Job job) {
  job.execute();
  return job.settle(env);
}

// A typed array whose memory a job works on, and the system call that works
// on it (named by the error when the memory was given away).
struct HeldView {
  Napi::Value view;
  const char* syscall;
};

// The memory of a view as the job was queued: JS can give it away while the
// job runs (transfer or detach its ArrayBuffer, shrink a resizable one), and
// the GC may then free it, so a reference to the view does not hold it. On
// settling, a view whose data or length changed means the job's results may
// describe memory that is no longer the caller's: the job rejects with EFAULT.
class ViewMemory {
 public:
  explicit ViewMemory(const HeldView& held) : view_(Napi::Persistent(held.view)), syscall_(held.syscall), was_(current()) {}

  bool given_away() const { return current() != was_; }
  Napi::Error error(Napi::Env env) const { return system_error(env, -EFAULT, syscall_); }

 private:
  std::pair<void*, size_t> current() const {
    napi_typedarray_type type;
    std::pair<void*, size_t> memory{nullptr, 0};
    napi_get_typedarray_info(view_.Env(), view_.Value(), &type, &memory.second, &memory.first, nullptr, nullptr);
    return memory;
  }

  Napi::Reference<Napi::Value> view_;
  const char* syscall_;
  std::pair<void*, size_t> was_;
};

template <typename Job>
class PoolWorker : public Napi::AsyncWorker {
 public:
  PoolWorker(Napi::Env env, const char* name, Job job, const std::optional<HeldView>& held)
      : Napi::AsyncWorker(env, name), job_(std::move(job)), deferred_(Napi::Promise::Deferred::New(env)) {
    if (held) memory_.emplace(*held);
  }

  Napi::Promise promise() const { return deferred_.Promise(); }

 protected:
  void Execute() override { job_.execute(); }

  // In a worker thread being terminated no JS can run: Resolve/Reject then
  // throw, and node-addon-api drops the error (NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS
  // in binding.gyp) instead of aborting the process; test/lifecycle.test.ts.
  void OnOK() override {
    try {
      if (memory_ && memory_->given_away()) throw memory_->error(Env());
      deferred_.Resolve(job_.settle(Env()));
    } catch (const Napi::Error& error) {
      deferred_.Reject(error.Value());
    } catch (const std::exception& error) {  // std::bad_alloc building the result
      deferred_.Reject(Napi::Error::New(Env(), error.what()).Value());
    }
  }

  void OnError(const Napi::Error& error) override { deferred_.Reject(error.Value()); }

 private:
  Job job_;
  Napi::Promise::Deferred deferred_;
  std::optional<ViewMemory> memory_;
};

// Queues the job; the worker deletes itself once the Promise is settled.
template <typename Job>
Napi::Promise run_on_pool(Napi::Env env, const char* name, Job job, const std::optional<HeldView>& held = std::nullopt) {
  auto* worker = new PoolWorker<Job>(env, name, std::move(job), held);
  Napi::Promise promise = worker->promise();
  worker->Queue();
  return promise;
}

}  // namespace glue
