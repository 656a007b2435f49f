// The baselines numaplace is measured against: plain C over the same pages,
// timed in C (CLOCK_MONOTONIC) so the JS call costs them nothing. Built by
// benchmarks/run.js only; not part of the package. libnuma is loaded with
// dlopen so the benchmark still runs (without that baseline) where it is missing.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <node_api.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "../../native/numa/kernel.h"  // MPOL_*, and PAGEMAP_SCAN where the headers lack it

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

typedef struct {
  char* start;  // page-aligned
  size_t pages;
} Range;

static size_t page_size(void) { return (size_t)sysconf(_SC_PAGESIZE); }

static int32_t int_argument(napi_env env, napi_value value) {
  int32_t result = 0;
  napi_get_value_int32(env, value, &result);
  return result;
}

// The usual (view, integer) arguments: the view's bytes and the integer (0 when absent).
static int view_and_int(napi_env env, napi_callback_info info, char** data, size_t* length, int32_t* value) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  bool is_typed = false;
  if (argc >= 1) napi_is_typedarray(env, argv[0], &is_typed);
  if (!is_typed) {
    napi_throw_type_error(env, NULL, "expected a TypedArray");
    return -1;
  }
  napi_typedarray_type type;
  napi_get_typedarray_info(env, argv[0], &type, length, (void**)data, NULL, NULL);
  *value = argc > 1 ? int_argument(env, argv[1]) : 0;
  return 0;
}

// (view, integer) with the view as the whole pages it touches.
static int range_and_int(napi_env env, napi_callback_info info, Range* range, int32_t* value) {
  char* data;
  size_t length;
  if (view_and_int(env, info, &data, &length, value)) return -1;
  uintptr_t first = (uintptr_t)data & ~(page_size() - 1);
  uintptr_t end = ((uintptr_t)data + length + page_size() - 1) & ~(page_size() - 1);
  range->start = (char*)first;
  range->pages = (end - first) / page_size();
  return 0;
}

static napi_value number(napi_env env, double value) {
  napi_value result;
  napi_create_double(env, value, &result);
  return result;
}

static napi_value fail(napi_env env, const char* what) {
  char message[160];
  snprintf(message, sizeof message, "%s: %s", what, strerror(errno));
  napi_throw_error(env, NULL, message);
  return NULL;
}

// The per-page arrays of a move_pages call, built before the clock starts so
// the baselines time nothing but the kernel's work (the strictest comparison:
// numaplace's figures include building its arrays).
typedef struct {
  void** addresses;
  int* nodes;  // NULL for a query
  int* status;
} Arrays;

// One address every `stride` pages of the range.
static Arrays arrays_for(Range range, int node, size_t stride) {
  size_t count = (range.pages + stride - 1) / stride;
  Arrays arrays = {malloc(count * sizeof(void*)), node >= 0 ? malloc(count * sizeof(int)) : NULL, malloc(count * sizeof(int))};
  for (size_t i = 0; i < count; i++) {
    arrays.addresses[i] = range.start + i * stride * page_size();
    if (arrays.nodes) arrays.nodes[i] = node;
    arrays.status[i] = -1;
  }
  return arrays;
}

static void free_arrays(Arrays arrays) {
  free(arrays.addresses);
  free(arrays.nodes);
  free(arrays.status);
}

typedef int (*move_pages_fn)(int, unsigned long, void**, const int*, int*, int);

static int move_pages_syscall(int pid, unsigned long count, void** pages, const int* nodes, int* status, int flags) {
  return syscall(SYS_move_pages, pid, count, pages, nodes, status, flags) < 0 ? -1 : 0;
}

// ns of one call of `move` over the range, given an address every `stride`
// pages; node -1 queries instead.
static napi_value timed_move_pages(napi_env env, Range range, size_t stride, int32_t node, move_pages_fn move, const char* name) {
  Arrays arrays = arrays_for(range, node, stride);
  uint64_t start = now_ns();
  int rc = move(0, (range.pages + stride - 1) / stride, arrays.addresses, arrays.nodes, arrays.status, node >= 0 ? MPOL_MF_MOVE : 0);
  uint64_t elapsed = now_ns() - start;
  free_arrays(arrays);
  return rc < 0 ? fail(env, name) : number(env, (double)elapsed);
}

// movePages(view, node) -> ns of one move_pages call over the range; node -1 queries instead.
static napi_value move_pages_js(napi_env env, napi_callback_info info) {
  Range range;
  int32_t node;
  if (range_and_int(env, info, &range, &node)) return NULL;
  return timed_move_pages(env, range, 1, node, move_pages_syscall, "move_pages");
}

// movePagesByHugePage(view, node) -> ns of one move_pages call given one
// address per 2 MiB of a range aligned to 2 MiB: what a caller who knows the
// range is all transparent huge pages passes (the kernel moves a whole huge
// page for any of its addresses).
static napi_value move_pages_by_huge_page_js(napi_env env, napi_callback_info info) {
  Range range;
  int32_t node;
  if (range_and_int(env, info, &range, &node)) return NULL;
  return timed_move_pages(env, range, (2u << 20) / page_size(), node, move_pages_syscall, "move_pages");
}

// movePagesAsync(view, node) -> Promise of the ns of one move_pages call over
// the range, made on the libuv pool as bare Node-API async work: the floor of
// what any Promise form pays for its round trip (a pool thread woken, then
// the event loop), next to which numaplace's Promise form is measured.
typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  Range range;
  Arrays arrays;
  int failed_errno;
  uint64_t elapsed;
} AsyncMove;

static void async_move_execute(napi_env env, void* data) {
  (void)env;
  AsyncMove* move = data;
  uint64_t start = now_ns();
  int rc = move_pages_syscall(0, move->range.pages, move->arrays.addresses, move->arrays.nodes, move->arrays.status, MPOL_MF_MOVE);
  move->elapsed = now_ns() - start;
  move->failed_errno = rc < 0 ? errno : 0;
}

static void async_move_complete(napi_env env, napi_status status, void* data) {
  AsyncMove* move = data;
  if (status == napi_ok && move->failed_errno == 0) {
    napi_resolve_deferred(env, move->deferred, number(env, (double)move->elapsed));
  } else {
    napi_value message, error;
    napi_create_string_utf8(env, strerror(move->failed_errno ? move->failed_errno : ECANCELED), NAPI_AUTO_LENGTH, &message);
    napi_create_error(env, NULL, message, &error);
    napi_reject_deferred(env, move->deferred, error);
  }
  napi_delete_async_work(env, move->work);
  free_arrays(move->arrays);
  free(move);
}

static napi_value move_pages_async_js(napi_env env, napi_callback_info info) {
  Range range;
  int32_t node;
  if (range_and_int(env, info, &range, &node)) return NULL;
  AsyncMove* move = calloc(1, sizeof *move);
  move->range = range;
  move->arrays = arrays_for(range, node, 1);
  napi_value promise, name;
  napi_create_promise(env, &move->deferred, &promise);
  napi_create_string_utf8(env, "movePagesAsync", NAPI_AUTO_LENGTH, &name);
  napi_create_async_work(env, NULL, name, async_move_execute, async_move_complete, move, &move->work);
  napi_queue_async_work(env, move->work);
  return promise;
}

// zeroPageScan(view) -> ns of one PAGEMAP_SCAN for zero pages over the range
// (what numaplace adds to a query on kernels that report the zero page's node),
// or -1 where the kernel has no PAGEMAP_SCAN.
static napi_value zero_page_scan_js(napi_env env, napi_callback_info info) {
  Range range;
  int32_t unused;
  if (range_and_int(env, info, &range, &unused)) return NULL;
  struct page_region regions[64];
  struct pm_scan_arg scan = {.size = sizeof scan,
                             .start = (uintptr_t)range.start,
                             .end = (uintptr_t)range.start + range.pages * page_size(),
                             .vec = (uintptr_t)regions,
                             .vec_len = 64,
                             .category_mask = PAGE_IS_PFNZERO,
                             .return_mask = PAGE_IS_PFNZERO};
  uint64_t start = now_ns();
  int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(env, "open /proc/self/pagemap");
  while (scan.start < scan.end) {
    if (ioctl(fd, PAGEMAP_SCAN, &scan) < 0) {
      close(fd);
      return number(env, -1);
    }
    scan.start = scan.walk_end;
  }
  close(fd);
  return number(env, (double)(now_ns() - start));
}

// numaMovePages(view, node) -> ns of libnuma's numa_move_pages, or -1 without libnuma.
static napi_value numa_move_pages_js(napi_env env, napi_callback_info info) {
  Range range;
  int32_t node;
  if (range_and_int(env, info, &range, &node)) return NULL;
  static move_pages_fn move;
  if (!move) {
    void* library = dlopen("libnuma.so.1", RTLD_NOW);
    if (library) move = (move_pages_fn)dlsym(library, "numa_move_pages");
    if (!move) return number(env, -1);
  }
  return timed_move_pages(env, range, 1, node, move, "numa_move_pages");
}

// mbindMove(view, node) -> ns: migspeed's method, mbind(MPOL_BIND, MPOL_MF_MOVE),
// then the default policy restored, as a library that must not leave a policy behind.
static napi_value mbind_move_js(napi_env env, napi_callback_info info) {
  Range range;
  int32_t node;
  if (range_and_int(env, info, &range, &node)) return NULL;
  unsigned long mask[16] = {0};
  mask[node / 64] |= 1UL << (node % 64);
  size_t length = range.pages * page_size();
  uint64_t start = now_ns();
  if (syscall(SYS_mbind, range.start, length, MPOL_BIND, mask, 1024, MPOL_MF_MOVE) != 0) return fail(env, "mbind");
  if (syscall(SYS_mbind, range.start, length, MPOL_DEFAULT, NULL, 0, 0) != 0) return fail(env, "mbind");
  return number(env, (double)(now_ns() - start));
}

// getMempolicyLoop(view) -> ns: one get_mempolicy(MPOL_F_NODE | MPOL_F_ADDR) per page.
static napi_value get_mempolicy_loop_js(napi_env env, napi_callback_info info) {
  Range range;
  int32_t unused;
  if (range_and_int(env, info, &range, &unused)) return NULL;
  uint64_t start = now_ns();
  for (size_t i = 0; i < range.pages; i++) {
    int node;
    if (syscall(SYS_get_mempolicy, &node, NULL, 0, range.start + i * page_size(), MPOL_F_NODE | MPOL_F_ADDR) != 0)
      return fail(env, "get_mempolicy");
  }
  return number(env, (double)(now_ns() - start));
}

// The node of the page at `address` by a 1-page move_pages query: 0, or -1 with errno.
static int query_one_page(void* address, int* status) {
  return syscall(SYS_move_pages, 0, 1, &address, NULL, status, 0) < 0 ? -1 : 0;
}

// onePageQuery(view, calls) -> ns per call: the fixed cost of a 1-page move_pages query.
static napi_value one_page_query_js(napi_env env, napi_callback_info info) {
  Range range;
  int32_t calls;
  if (range_and_int(env, info, &range, &calls)) return NULL;
  int status;
  uint64_t start = now_ns();
  for (int i = 0; i < calls; i++) {
    if (query_one_page(range.start, &status) != 0) return fail(env, "move_pages");
  }
  return number(env, (double)(now_ns() - start) / calls);
}

// queryPage(view) -> status: one 1-page move_pages query of the view's first
// page and nothing else (no clock), as a minimal addon called once per query would.
static napi_value query_page_js(napi_env env, napi_callback_info info) {
  Range range;
  int32_t unused;
  int status;
  if (range_and_int(env, info, &range, &unused)) return NULL;
  if (query_one_page(range.start, &status) != 0) return fail(env, "move_pages");
  return number(env, status);
}

// copy(target, source) -> ns: memcpy of the same bytes, the physical limit of a migration.
static napi_value copy_js(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  void *target, *source;
  size_t target_length, source_length;
  napi_typedarray_type type;
  napi_get_typedarray_info(env, argv[0], &type, &target_length, &target, NULL, NULL);
  napi_get_typedarray_info(env, argv[1], &type, &source_length, &source, NULL, NULL);
  size_t length = target_length < source_length ? target_length : source_length;
  uint64_t start = now_ns();
  memcpy(target, source, length);
  return number(env, (double)(now_ns() - start));
}

// chase(view, steps) -> ns per dependent load over a random cycle of 64-byte slots
// (the view is turned into the cycle first, untimed), defeating prefetchers.
static napi_value chase_js(napi_env env, napi_callback_info info) {
  char* data;
  size_t length;
  int32_t steps;
  if (view_and_int(env, info, &data, &length, &steps)) return NULL;
  size_t slots = length / 64;
  if (slots < 2) {
    napi_throw_range_error(env, NULL, "chase: the view needs at least 128 bytes");
    return NULL;
  }
  size_t* order = malloc(slots * sizeof *order);
  for (size_t i = 0; i < slots; i++) order[i] = i;
  uint64_t seed = 88172645463325252ull;
  for (size_t i = slots - 1; i > 0; i--) {
    seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
    size_t j = seed % (i + 1), swap = order[i];
    order[i] = order[j], order[j] = swap;
  }
  char* base = data;
  for (size_t i = 0; i < slots; i++) *(void**)(base + order[i] * 64) = base + order[(i + 1) % slots] * 64;
  free(order);
  void* volatile* cursor = (void* volatile*)base;
  uint64_t start = now_ns();
  for (int i = 0; i < steps; i++) cursor = (void* volatile*)*cursor;
  uint64_t elapsed = now_ns() - start;
  if (cursor == NULL) return number(env, -1);  // keeps the loop
  return number(env, (double)elapsed / steps);
}

// readAll(view) -> ns to sum every 8-byte word: read bandwidth.
static napi_value read_all_js(napi_env env, napi_callback_info info) {
  char* data;
  size_t length;
  int32_t unused;
  if (view_and_int(env, info, &data, &length, &unused)) return NULL;
  const volatile uint64_t* words = (const uint64_t*)data;
  uint64_t sum = 0;
  uint64_t start = now_ns();
  for (size_t i = 0; i < length / 8; i++) sum += words[i];
  uint64_t elapsed = now_ns() - start;
  return number(env, sum == 1 ? -1 : (double)elapsed);
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor functions[] = {
      {"movePages", NULL, move_pages_js, NULL, NULL, NULL, napi_default, NULL},
      {"movePagesByHugePage", NULL, move_pages_by_huge_page_js, NULL, NULL, NULL, napi_default, NULL},
      {"movePagesAsync", NULL, move_pages_async_js, NULL, NULL, NULL, napi_default, NULL},
      {"numaMovePages", NULL, numa_move_pages_js, NULL, NULL, NULL, napi_default, NULL},
      {"mbindMove", NULL, mbind_move_js, NULL, NULL, NULL, napi_default, NULL},
      {"getMempolicyLoop", NULL, get_mempolicy_loop_js, NULL, NULL, NULL, napi_default, NULL},
      {"zeroPageScan", NULL, zero_page_scan_js, NULL, NULL, NULL, napi_default, NULL},
      {"onePageQuery", NULL, one_page_query_js, NULL, NULL, NULL, napi_default, NULL},
      {"queryPage", NULL, query_page_js, NULL, NULL, NULL, napi_default, NULL},
      {"copy", NULL, copy_js, NULL, NULL, NULL, napi_default, NULL},
      {"chase", NULL, chase_js, NULL, NULL, NULL, napi_default, NULL},
      {"readAll", NULL, read_all_js, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof functions / sizeof *functions, functions);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
