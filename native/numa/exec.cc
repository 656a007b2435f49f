#include "exec.h"

#include <fcntl.h>
#include <linux/kcmp.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

namespace numa {
namespace {

// What exec_command changes before the exec, put back when the exec fails.
struct Saved {
  sigset_t mask;
  std::vector<int> ignored;          // signals moved from SIG_IGN to SIG_DFL
  int fd_flags[3] = {-1, -1, -1};  // descriptor flags of fds 0 to 2, where changed
};

// Node.js resets every ignored signal it inherits to the default when it
// starts, then ignores SIGPIPE and SIGXFSZ for itself: what is ignored now is
// Node's doing, which a command started from a shell would not have.
void reset_ignored_signals(Saved* saved) {
  for (int signal = 1; signal < NSIG; signal++) {
    struct sigaction action;
    // Fails for the signals glibc keeps for itself (EINVAL): none of them is ignored.
    if (sigaction(signal, nullptr, &action) != 0) continue;
    if ((action.sa_flags & SA_SIGINFO) || action.sa_handler != SIG_IGN) continue;
    action.sa_handler = SIG_DFL;
    if (sigaction(signal, &action, nullptr) == 0) saved->ignored.push_back(signal);
  }
}

// Whether fd 0 is the /dev/null Node.js opens read-write on a standard input
// that was closed when it started (F_GETFL gives the access mode that
// /proc/self/fdinfo shows in its flags). A heuristic: a shell's `</dev/null`
// and child_process's 'ignore' open /dev/null read-only on fd 0; daemon(3)
// opens it read-write but shares that one open file on fds 0 to 2, where
// Node.js opens one per closed descriptor (kcmp tells them apart). Fds 1 and 2
// are not judged so: child_process's 'ignore' opens /dev/null read-write
// there, and a command without them would see its writes fail, or land in the
// first file it opens.
bool stdin_opened_by_node() {
  int flags = fcntl(0, F_GETFL);
  struct stat status;
  if (flags < 0 || (flags & O_ACCMODE) != O_RDWR || fstat(0, &status) != 0) return false;
  if (!S_ISCHR(status.st_mode) || status.st_rdev != makedev(1, 3)) return false;
  pid_t self = getpid();
  for (int other : {1, 2})
    if (syscall(SYS_kcmp, self, self, KCMP_FILE, 0, other) == 0) return false;
  return true;
}

// Node.js marks every descriptor it inherits close-on-exec when it starts
// (uv_disable_stdio_inheritance), the standard ones too: the command gets
// fds 0 to 2 back, but for a standard input Node.js opened itself, which the
// exec closes so that the command finds it closed, as it was. Descriptors
// above 2 stay close-on-exec: those inherited cannot be told from Node's own.
void hand_on_standard_fds(Saved* saved) {
  for (int fd = 0; fd <= 2; fd++) {
    int flags = fcntl(fd, F_GETFD);
    if (flags < 0 || !(flags & FD_CLOEXEC) || (fd == 0 && stdin_opened_by_node())) continue;
    if (fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC) == 0) saved->fd_flags[fd] = flags;
  }
}

void restore(const Saved& saved) {
  for (int fd = 0; fd <= 2; fd++)
    if (saved.fd_flags[fd] >= 0) fcntl(fd, F_SETFD, saved.fd_flags[fd]);
  for (int signal : saved.ignored) {
    struct sigaction action;
    if (sigaction(signal, nullptr, &action) != 0) continue;
    action.sa_handler = SIG_IGN;
    sigaction(signal, &action, nullptr);
  }
  pthread_sigmask(SIG_SETMASK, &saved.mask, nullptr);
}

// A process group of its own, so that a terminal's signals (sent to the
// foreground group, the parent's) reach the copy once, through the parent.
// PR_SET_PDEATHSIG fires when the thread that forked this process ends: the
// parent's main thread, which starts every copy, ends only with the parent.
ExecFailure link_to_parent(pid_t parent) {
  if (setpgid(0, 0) != 0) return {-errno, "setpgid"};
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) return {-errno, "prctl"};
  // A parent that died before prctl sends no signal: die as it would have made us.
  if (getppid() != parent) {
    kill(getpid(), SIGKILL);
    return {-ESRCH, "getppid"};
  }
  return {0, nullptr};
}

}  // namespace

ExecFailure exec_command(const char* file, char* const argv[], pid_t parent) {
  if (parent != 0) {
    ExecFailure failure = link_to_parent(parent);
    if (failure.error != 0) return failure;
  }
  Saved saved;
  sigset_t none;
  sigemptyset(&none);
  pthread_sigmask(SIG_SETMASK, &none, &saved.mask);
  reset_ignored_signals(&saved);
  hand_on_standard_fds(&saved);
  execvp(file, argv);
  int error = -errno;
  restore(saved);
  return {error, "execvp"};
}

}  // namespace numa
