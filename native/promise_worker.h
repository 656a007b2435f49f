// An AsyncWorker that settles a Promise: Execute() runs on a libuv pool thread
// with plain C++ data only; OnOK() resolves or rejects on the JS thread.
#pragma once

#include <napi.h>

namespace glue {

class PromiseWorker : public Napi::AsyncWorker {
 public:
  // Queues the work and returns its Promise; the worker deletes itself when done.
  Napi::Promise start() {
    Napi::Promise promise = deferred_.Promise();
    Queue();
    return promise;
  }

 protected:
  PromiseWorker(Napi::Env env, const char* name)
      : Napi::AsyncWorker(env, name), deferred_(Napi::Promise::Deferred::New(env)) {}

  void OnError(const Napi::Error& error) override { deferred_.Reject(error.Value()); }

  Napi::Promise::Deferred deferred_;
};

}  // namespace glue
