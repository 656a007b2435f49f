// Glue for lib/cli/exec.ts: exec(file, argv[, parent]) replaces this
// process with a command (numa/exec.h); it returns only by throwing, when the
// exec failed.
#include <string>
#include <vector>

#include "args.h"
#include "exports.h"
#include "jobs.h"
#include "numa/exec.h"
#include "numa/kernel.h"

namespace glue {

Napi::Value exec(const Napi::CallbackInfo& info) {
  Args args(info, "exec");
  std::string file = args.string(0, "file");
  std::vector<std::string> argv = args.strings(1, "argv");
  // 0: not a copy; a copy names its parent, a pid below PID_MAX_LIMIT.
  pid_t parent = info.Length() > 2 ? pid_t(args.integer(2, "parent", 1, numa::kPidMaxLimit - 1)) : 0;
  std::vector<char*> pointers;
  for (std::string& arg : argv) pointers.push_back(arg.data());
  pointers.push_back(nullptr);
  numa::ExecFailure failure = numa::exec_command(file.c_str(), pointers.data(), parent);
  throw system_error(info.Env(), failure.error, failure.syscall);
}

}  // namespace glue
