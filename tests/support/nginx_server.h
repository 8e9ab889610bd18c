#pragma once
// A real nginx (Debian's 1.22) as a test backend: one process (no daemon, no master) in a TempDir
// of its own, with the `server { }` blocks the test writes, its temp paths and logs kept in that
// directory. Stopped by its PID when the object goes (ChildProcess), never by name.
// Not thread-safe: one test thread owns it.

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "tests/support/child_process.h"
#include "tests/support/temp_dir.h"

namespace switchyard::support {

class NginxServer {
 public:
  NginxServer() = default;

  // Writes nginx.conf with `servers` inside its http { } block (a ${DIR} there is dir().path()),
  // starts nginx and waits until each of `ports` accepts connections. Fails with the error log.
  ::testing::AssertionResult start(const std::string& servers, const std::vector<uint16_t>& ports);

  // Where its configuration and logs live; tests may put files there (served, or tested by `if`).
  const TempDir& dir() const { return dir_; }
  std::string errorLog() const { return dir_.readFile("error.log"); }

  // Its one process (master_process off): SIGSTOP freezes it as a hung machine would (the
  // kernel keeps its connections and completes handshakes, nothing answers), SIGKILL kills it.
  void signal(int sig) { process_.signal(sig); }

 private:
  TempDir dir_{"nginx"};
  ChildProcess process_;
};

}  // namespace switchyard::support
