// Reads the (Uint8Array) view argument every page function takes.
#pragma once

#include <napi.h>

#include "numa/pages.h"

namespace glue {

// Throws a TypeError naming `function` unless `value` is a Uint8Array over a
// live (not detached) buffer.
Napi::Uint8Array view_argument(const Napi::Value& value, const char* function);

numa::PageSpan span_of_view(const Napi::Uint8Array& view);

}  // namespace glue
