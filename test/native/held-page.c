// A test-only addon that holds pages the way I/O does: holdPages(view) gives
// the view's pages to a pipe with vmsplice (without SPLICE_F_GIFT, so the pipe
// takes a reference to each page) and keeps the pipe open; release() closes
// it. While held, a page cannot be migrated: the kernel finds a reference it
// cannot account for, retries inside move_pages and gives up, counting the
// page in its return value. test/helpers.ts compiles it; the benchmarks build
// it with benchmarks/raw/binding.gyp.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

static int pipe_ends[2] = {-1, -1};

static napi_value fail(napi_env env, const char* what) {
  napi_throw_error(env, NULL, what);
  return NULL;
}

static napi_value release(napi_env env, napi_callback_info info) {
  (void)info;
  for (int end = 0; end < 2; end++) {
    if (pipe_ends[end] >= 0) close(pipe_ends[end]);
    pipe_ends[end] = -1;
  }
  napi_value undefined;
  napi_get_undefined(env, &undefined);
  return undefined;
}

// holdPages(view) -> bytes the pipe took; one view held at a time.
static napi_value hold_pages(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_typedarray_type type;
  size_t length = 0;
  void* data = NULL;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1 || napi_get_typedarray_info(env, argv[0], &type, &length, &data, NULL, NULL) != napi_ok || type != napi_uint8_array)
    return fail(env, "holdPages: view must be a Uint8Array");
  release(env, info);
  if (pipe(pipe_ends) != 0) return fail(env, strerror(errno));
  struct iovec bytes = {data, length};
  ssize_t taken = vmsplice(pipe_ends[1], &bytes, 1, 0);
  if (taken < 0) return fail(env, strerror(errno));
  napi_value result;
  napi_create_double(env, (double)taken, &result);
  return result;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor properties[] = {
      {"holdPages", NULL, hold_pages, NULL, NULL, NULL, napi_default, NULL},
      {"release", NULL, release, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof properties / sizeof properties[0], properties);
  return exports;
}
