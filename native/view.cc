#include "view.h"

#include <string>

namespace glue {

Napi::Uint8Array view_argument(const Napi::Value& value, const char* function) {
  Napi::Env env = value.Env();
  std::optional<Napi::Uint8Array> view = typed_array_of<uint8_t>(value, napi_uint8_array);
  if (!view) throw Napi::TypeError::New(env, std::string(function) + ": expected a Uint8Array view");
  // A detached buffer leaves its views empty; only then is the check worth a call.
  if (view->ByteLength() == 0 && view->ArrayBuffer().IsDetached())
    throw Napi::TypeError::New(env, std::string(function) + ": the view's ArrayBuffer is detached");
  return *view;
}

numa::PageSpan span_of_view(const Napi::Uint8Array& view) {
  return numa::span_of(reinterpret_cast<uintptr_t>(view.Data()), view.ByteLength());
}

}  // namespace glue
