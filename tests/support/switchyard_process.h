#pragma once
// The real `switchyard` binary as a child process of a test: the config is written into a
// TempDir, stdout and stderr go to files there, and start() returns once GET /ready on the admin
// port answers 200. The destructor SIGKILLs a child still running (and the child dies with the
// test process through PR_SET_PDEATHSIG), so no gateway outlives its test.

#include <gtest/gtest.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/child_process.h"
#include "tests/support/run_command.h"
#include "tests/support/temp_dir.h"

namespace switchyard::support {

// Replaces every ${NAME} in text by vars[NAME] (YAML uses braces itself, so no fmt here).
// Throws std::runtime_error on a placeholder with no value, so a typo cannot pass silently.
std::string fillTemplate(std::string text, const std::map<std::string, std::string>& vars);

class SwitchyardProcess {
 public:
  // config_yaml has its placeholders filled; admin_port is its admin.address port.
  SwitchyardProcess(std::string config_yaml, uint16_t admin_port);
  ~SwitchyardProcess();
  SwitchyardProcess(const SwitchyardProcess&) = delete;
  SwitchyardProcess& operator=(const SwitchyardProcess&) = delete;

  // Spawns `SWITCHYARD_BINARY serve --config FILE [extra_args...]` and waits for /ready = 200.
  // On failure the message carries the last /ready answer and the captured stderr.
  ::testing::AssertionResult start(
      std::chrono::milliseconds ready_timeout = std::chrono::seconds(10),
      const std::vector<std::string>& extra_args = {});

  pid_t pid() const { return child_.pid(); }
  uint16_t adminPort() const { return admin_port_; }
  const std::string& configPath() const { return config_path_; }
  const TempDir& dir() const { return dir_; }
  std::string stdoutText() const { return dir_.readFile("stdout.log"); }
  std::string stderrText() const { return dir_.readFile("stderr.log"); }

  bool running();
  void sendSignal(int sig);
  // The exit status (128 + signal when killed by one), or nullopt if still running at the deadline.
  std::optional<int> waitExit(std::chrono::milliseconds timeout);
  // From /proc/PID/status, in KiB; -1 when unreadable. VmHWM is the peak resident size.
  long vmRssKb() const { return procStatusKb("VmRSS:"); }
  long vmHwmKb() const { return procStatusKb("VmHWM:"); }

  // `switchyard check --config FILE` on the given text (written as switchyard.yaml in a temp dir).
  static CommandResult runCheck(const std::string& config_yaml);
  // `switchyard ARGS...`.
  static CommandResult run(const std::vector<std::string>& args,
                           std::chrono::milliseconds timeout = std::chrono::seconds(10));

 private:
  long procStatusKb(const char* key) const;

  TempDir dir_;
  std::string config_path_;
  uint16_t admin_port_;
  ChildProcess child_;
};

}  // namespace switchyard::support
