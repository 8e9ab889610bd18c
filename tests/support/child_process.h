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
  // The last exit status seen, if the child has exited.
  std::optional<int> exitStatus() const { return exit_status_; }

 private:
  pid_t pid_ = -1;
  std::optional<int> exit_status_;
};

}  // namespace switchyard::support
