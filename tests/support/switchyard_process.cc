#include "tests/support/switchyard_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
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

SwitchyardProcess::~SwitchyardProcess() {
  if (pid_ > 0 && !exit_status_) {
    ::kill(pid_, SIGKILL);
    waitExit(std::chrono::seconds(5));
  }
}

::testing::AssertionResult SwitchyardProcess::start(std::chrono::milliseconds ready_timeout) {
  if (pid_ > 0) return ::testing::AssertionFailure() << "already started";
  std::string exe = SWITCHYARD_BINARY;
  std::string out_path = dir_.file("stdout.log"), err_path = dir_.file("stderr.log");
  std::vector<std::string> argv = {exe, "serve", "--config", config_path_};
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  int out_fd = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  int err_fd = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (out_fd < 0 || err_fd < 0) return ::testing::AssertionFailure() << "cannot open log files";
  pid_ = ::fork();
  if (pid_ == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    // A test runner may have ignored or blocked signals; the child must see SIGTERM and SIGINT.
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    ::sigaction(SIGINT, &dfl, nullptr);
    ::sigaction(SIGTERM, &dfl, nullptr);
    ::sigaction(SIGHUP, &dfl, nullptr);
    sigset_t none;
    ::sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::dup2(out_fd, 1);
    ::dup2(err_fd, 2);
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, 0);
    ::chdir(dir_.path().c_str());
    ::execv(exe.c_str(), args.data());
    ::_exit(127);
  }
  ::close(out_fd);
  ::close(err_fd);
  if (pid_ < 0) return ::testing::AssertionFailure() << "fork: " << std::strerror(errno);

  auto deadline = Clock::now() + ready_timeout;
  std::string last = "no answer";
  while (Clock::now() < deadline) {
    if (!running()) {
      return ::testing::AssertionFailure()
             << "switchyard exited with status " << exit_status_.value_or(-1)
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

bool SwitchyardProcess::running() {
  if (pid_ <= 0 || exit_status_) return false;
  int status = 0;
  pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == 0) return true;
  if (r == pid_) {
    exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  } else {
    exit_status_ = -1;  // not our child any more: nothing to wait for
  }
  return false;
}

void SwitchyardProcess::sendSignal(int sig) {
  if (pid_ > 0 && !exit_status_) ::kill(pid_, sig);
}

std::optional<int> SwitchyardProcess::waitExit(std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (running()) {
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // poll interval
  }
  return exit_status_;
}

long SwitchyardProcess::procStatusKb(const char* key) const {
  if (pid_ <= 0) return -1;
  std::ifstream in("/proc/" + std::to_string(pid_) + "/status");
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
