#include "view.h"

#include <string>

namespace glue {

Napi::Uint8Array view_argument(const Napi::Value& value, const char* function) {
  Napi::Env env = value.Env();
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
    throw Napi::TypeError::New(env, std::string(function) + ": expected a Uint8Array view");
  Napi::Uint8Array view = value.As<Napi::Uint8Array>();
  Napi::Value buffer = view.Get("buffer");
  if (buffer.IsArrayBuffer() && buffer.As<Napi::ArrayBuffer>().IsDetached())
    throw Napi::TypeError::New(env, std::string(function) + ": the view's ArrayBuffer is detached");
  return view;
}

numa::PageSpan span_of_view(const Napi::Uint8Array& view) {
  return numa::span_of(reinterpret_cast<uintptr_t>(view.Data()), view.ByteLength());
}

}  // namespace glue
