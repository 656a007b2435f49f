// The addon's `constants`, as Node's src/node_constants.cc builds
// os.constants: the kernel's memory-policy numbers from its headers
// (numa/kernel.h), and the numbers of numaplace's core that the TypeScript
// layer repeats (page statuses, the chunk size, the retry limits). lib/ keeps
// its own copies, so that the package loads where the addon cannot;
// test/binding.test.ts compares every copy with these.
#include "args.h"
#include "exports.h"
#include "numa/kernel.h"
#include "numa/span.h"

// Sets target.<name> to the value of `name`, keeping the C name.
#define DEFINE_CONSTANT(target, name) (target).Set(#name, Napi::Number::New((target).Env(), double(name)))

namespace glue {

Napi::Object constants(Napi::Env env) {
  Napi::Object constants = Napi::Object::New(env);
  DEFINE_CONSTANT(constants, MPOL_DEFAULT);
  DEFINE_CONSTANT(constants, MPOL_PREFERRED);
  DEFINE_CONSTANT(constants, MPOL_BIND);
  DEFINE_CONSTANT(constants, MPOL_INTERLEAVE);
  DEFINE_CONSTANT(constants, MPOL_LOCAL);
  DEFINE_CONSTANT(constants, MPOL_PREFERRED_MANY);
  constants.Set("MPOL_WEIGHTED_INTERLEAVE", Napi::Number::New(env, numa::kMpolWeightedInterleave));
  DEFINE_CONSTANT(constants, MPOL_F_STATIC_NODES);
  DEFINE_CONSTANT(constants, MPOL_F_RELATIVE_NODES);
  DEFINE_CONSTANT(constants, MPOL_F_NUMA_BALANCING);
  DEFINE_CONSTANT(constants, MPOL_MF_STRICT);
  DEFINE_CONSTANT(constants, MPOL_MF_MOVE);
  DEFINE_CONSTANT(constants, MPOL_MF_MOVE_ALL);
  constants.Set("PAGE_NOT_PRESENT", Napi::Number::New(env, numa::kNotPresent));
  constants.Set("PAGE_HIDDEN", Napi::Number::New(env, numa::kHiddenNodeUnknown));
  constants.Set("CHUNK_PAGES", Napi::Number::New(env, double(numa::kChunkPages)));
  constants.Set("MAX_RETRIES", Napi::Number::New(env, kMaxRetries));
  constants.Set("MAX_RETRY_DELAY_MS", Napi::Number::New(env, kMaxRetryDelayMs));
  constants.Freeze();
  return constants;
}

}  // namespace glue
