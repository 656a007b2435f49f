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

#include <initializer_list>
#include <utility>
#include <vector>

namespace glue {

Napi::Error system_error(Napi::Env env, int negative_errno, const char* syscall);

template <typename Job>
Napi::Value run_inline(Napi::Env env, Job job) {
  job.execute();
  return job.settle(env);
}

template <typename Job>
class PoolWorker : public Napi::AsyncWorker {
 public:
  PoolWorker(Napi::Env env, const char* name, Job job, std::initializer_list<Napi::Value> keep_alive)
      : Napi::AsyncWorker(env, name), job_(std::move(job)), deferred_(Napi::Promise::Deferred::New(env)) {
    for (const Napi::Value& value : keep_alive) kept_.push_back(Napi::Persistent(value));
  }

  Napi::Promise promise() const { return deferred_.Promise(); }

 protected:
  void Execute() override { job_.execute(); }

  // In a worker thread being terminated no JS can run: Resolve/Reject then
  // throw, and node-addon-api drops the error (NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS
  // in binding.gyp) instead of aborting the process; test/lifecycle.test.ts.
  void OnOK() override {
    try {
      deferred_.Resolve(job_.settle(Env()));
    } catch (const Napi::Error& error) {
      deferred_.Reject(error.Value());
    }
  }

  void OnError(const Napi::Error& error) override { deferred_.Reject(error.Value()); }

 private:
  Job job_;
  Napi::Promise::Deferred deferred_;
  std::vector<Napi::Reference<Napi::Value>> kept_;
};

// Queues the job; the worker deletes itself once the Promise is settled.
template <typename Job>
Napi::Promise run_on_pool(Napi::Env env, const char* name, Job job, std::initializer_list<Napi::Value> keep_alive = {}) {
  auto* worker = new PoolWorker<Job>(env, name, std::move(job), keep_alive);
  Napi::Promise promise = worker->promise();
  worker->Queue();
  return promise;
}

}  // namespace glue
