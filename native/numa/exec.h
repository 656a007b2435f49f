// Replacing this process with a command, as numactl does once it has placed
// itself: CPU affinity and memory policy belong to the calling thread and the
// new image keeps them, so the command runs where its caller was placed, with
// its pid, terminal, signals and exit status.
#pragma once

#include <sys/types.h>

namespace numa {

// Why the exec did not happen: a negative errno and the call that failed.
struct ExecFailure {
  int error;
  const char* syscall;
};

// Runs `file` (searched in PATH, as execvp does) with `argv` (ending in a null
// pointer) in place of this process. First it undoes what Node.js set up for
// itself and a command must not inherit: ignored signals (Node.js ignores
// SIGPIPE and SIGXFSZ), the calling thread's signal mask, standard
// descriptors marked close-on-exec, and the /dev/null Node.js opened on a
// standard input that was closed when it started. With a `parent` (not 0: a
// copy of `numaplace run --per-node`, whose parent passes signals on), the
// process also takes a process group of its own and is killed when that
// parent dies. Returns only when it failed, with all but the copy's part as it was.
ExecFailure exec_command(const char* file, char* const argv[], pid_t parent);

}  // namespace numa
