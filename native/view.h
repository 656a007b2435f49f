// Reads the (Uint8Array) view argument every page function takes, and other
// typed arrays, with one Node-API call each: node-addon-api's accessors on an
// array obtained with As<>() make a call apiece, which a 1-page query feels.
#pragma once

#include <napi.h>

#include <optional>

#include "numa/pages.h"

namespace glue {

// The typed array `value` if its elements are of `type`, else nothing.
template <typename T>
std::optional<Napi::TypedArrayOf<T>> typed_array_of(const Napi::Value& value, napi_typedarray_type type) {
  if (!value.IsTypedArray()) return std::nullopt;
  Napi::TypedArrayOf<T> array(value.Env(), value);  // reads type, length and data at once
  if (array.TypedArrayType() != type) return std::nullopt;
  return array;
}

// Throws a TypeError naming `function` unless `value` is a Uint8Array over a
// live (not detached) buffer.
Napi::Uint8Array view_argument(const Napi::Value& value, const char* function);

numa::PageSpan span_of_view(const Napi::Uint8Array& view);

}  // namespace glue
