#pragma once
// Runs an external program (curl, the switchyard binary) with its output captured and a
// deadline, so a test can assert on exit code and output without ever hanging.

#include <chrono>
#include <string>
#include <vector>

namespace switchyard::support {

struct CommandResult {
  int exit_code = -1;      // the exit status; 128 + signal when killed by one
  bool timed_out = false;  // killed (SIGKILL) at the deadline
  std::string out;         // stdout
  std::string err;         // stderr
  std::string output() const { return out + err; }
};

// argv[0] is looked up in PATH unless it contains '/'. Spawn failures give exit_code 127 and the
// reason in err.
CommandResult runCommand(const std::vector<std::string>& argv,
                         std::chrono::milliseconds timeout = std::chrono::seconds(30));

}  // namespace switchyard::support
