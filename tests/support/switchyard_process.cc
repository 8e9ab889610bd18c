#include "tests/support/switchyard_process.h"

#include <cstring>
#include <fstream>
#include <stdexcept>
#include <thread>

#include "tests/support/http_client.h"

namespace switchyard::support {

using Clock = std::chrono::steady_clock;

std::string fillTemplate(std::string text, const std::map<std::string, std::string>& vars) {
  std::string out;
  size_t pos = 0;
  for (;;) {
    size_t start = text.find("${", pos);
    if (start == std::string::npos) break;
    size_t end = text.find('}', start);
    if (end == std::string::npos) break;
    std::string name = text.substr(start + 2, end - start - 2);
    auto it = vars.find(name);
    if (it == vars.end()) throw std::runtime_error("fillTemplate: no value for ${" + name + "}");
    out += text.substr(pos, start - pos) + it->second;
    pos = end + 1;
  }
  out += text.substr(pos);
  return out;
}

SwitchyardProcess::SwitchyardProcess(std::string config_yaml, uint16_t admin_port)
    : dir_("switchyard-proc"), admin_port_(admin_port) {
  config_path_ = dir_.writeFile("switchyard.yaml", config_yaml);
}

// child_ SIGKILLs and reaps a gateway still running.
SwitchyardProcess::~SwitchyardProcess() = default;

::testing::AssertionResult SwitchyardProcess::start(std::chrono::milliseconds ready_timeout,
                                                    const std::vector<std::string>& extra_args) {
  if (child_.pid() > 0) return ::testing::AssertionFailure() << "already started";
  std::vector<std::string> argv = {SWITCHYARD_BINARY, "serve", "--config", config_path_};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  const std::string error =
      child_.spawn(argv, dir_.path(), dir_.file("stdout.log"), dir_.file("stderr.log"));
  if (!error.empty()) return ::testing::AssertionFailure() << error;

  auto deadline = Clock::now() + ready_timeout;
  std::string last = "no answer";
  while (Clock::now() < deadline) {
    if (!running()) {
      return ::testing::AssertionFailure()
             << "switchyard exited with status " << child_.exitStatus().value_or(-1)
             << " before /ready answered 200\nconfig:\n"
             << dir_.readFile("switchyard.yaml") << "\nstderr:\n"
             << stderrText() << "\nstdout:\n"
             << stdoutText();
    }
    HttpResponse r = HttpClient::get(admin_port_, "/ready", {}, std::chrono::seconds(1));
    if (r.ok() && r.status == 200) return ::testing::AssertionSuccess();
    last = r.ok() ? "status " + std::to_string(r.status) + ": " + r.body : r.error;
    std::this_thread::sleep_for(std::chrono::milliseconds(25));  // poll interval, not a wait
  }
  return ::testing::AssertionFailure()
         << "GET /ready on 127.0.0.1:" << admin_port_ << " did not answer 200 within "
         << ready_timeout.count() << " ms (last: " << last << ")\nstderr:\n"
         << stderrText() << "\nstdout:\n"
         << stdoutText();
}

bool SwitchyardProcess::running() { return child_.running(); }

void SwitchyardProcess::sendSignal(int sig) { child_.signal(sig); }

std::optional<int> SwitchyardProcess::waitExit(std::chrono::milliseconds timeout) {
  return child_.waitExit(timeout);
}

long SwitchyardProcess::procStatusKb(const char* key) const {
  if (child_.pid() <= 0) return -1;
  std::ifstream in("/proc/" + std::to_string(child_.pid()) + "/status");
  std::string line;
  size_t key_len = std::strlen(key);
  while (std::getline(in, line)) {
    if (line.compare(0, key_len, key) == 0) return std::strtol(line.c_str() + key_len, nullptr, 10);
  }
  return -1;
}

CommandResult SwitchyardProcess::runCheck(const std::string& config_yaml) {
  TempDir dir("switchyard-check");
  std::string path = dir.writeFile("switchyard.yaml", config_yaml);
  return runCommand({SWITCHYARD_BINARY, "check", "--config", path}, std::chrono::seconds(10));
}

CommandResult SwitchyardProcess::run(const std::vector<std::string>& args,
                                     std::chrono::milliseconds timeout) {
  std::vector<std::string> argv = {SWITCHYARD_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  return runCommand(argv, timeout);
}

}  // namespace switchyard::support
