#pragma once
// One child process of a test (a ZooKeeper server, a helper daemon): spawned with its stdout and
// stderr appended to a log file, default signal dispositions, and PR_SET_PDEATHSIG so it dies
// with the test process. It is stopped by its PID only (never by name), and the destructor
// SIGKILLs and reaps a child still running, so no child outlives its owner.
// Not thread-safe: one test thread owns it.

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace switchyard::support {

// argv[0] as execv wants it: looked up in PATH unless it contains '/'. Call it before fork():
// after fork in a threaded process only async-signal-safe calls are allowed.
std::string resolveInPath(const std::string& name);

// In the child, between fork() and exec: dies with the parent (PR_SET_PDEATHSIG), default
// SIGINT/SIGTERM/SIGHUP and no blocked signal (a test runner may have ignored or blocked them),
// stdout and stderr on the given descriptors, stdin from /dev/null. Async-signal-safe only.
void prepareChild(int out_fd, int err_fd);

class ChildProcess {
 public:
  ChildProcess() = default;
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Starts argv (argv[0] is looked up in PATH unless it contains '/') in directory cwd, stdout
  // and stderr appended to log_path. Returns an empty string on success, else why it failed.
  // Refused while a previous child is still running.
  std::string spawn(const std::vector<std::string>& argv, const std::string& cwd,
                    const std::string& log_path);
  // The same with stdout and stderr in files of their own, truncated first.
  std::string spawn(const std::vector<std::string>& argv, const std::string& cwd,
                    const std::string& out_path, const std::string& err_path);

  // The PID of the last child spawned (it may have exited since); -1 before the first spawn.
  pid_t pid() const { return pid_; }
  // Reaps the child if it has exited; true while it runs.
  bool running();
  // The exit status (128 + signal when killed by one), or nullopt if still running at the deadline
  // (or never started).
  std::optional<int> waitExit(std::chrono::milliseconds timeout);
  // SIGTERM, then SIGKILL if it has not exited within grace; always reaps. Returns the exit status
  // (nullopt when there was no child to stop).
  std::optional<int> stop(std::chrono::milliseconds grace = std::chrono::seconds(5));
  // SIGKILL and reap.
  std::optional<int> kill();
  // Sends sig while the child runs (SIGHUP, SIGSTOP...); nothing once it has exited.
  void signal(int sig);
  // The last exit status seen, if the child has exited.
  std::optional<int> exitStatus() const { return exit_status_; }

 private:
  std::string spawnWith(const std::vector<std::string>& argv, const std::string& cwd, int out_fd,
                        int err_fd);

  pid_t pid_ = -1;
  std::optional<int> exit_status_;
};

}  // namespace switchyard::support
