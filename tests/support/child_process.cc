#include "tests/support/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <thread>

namespace switchyard::support {

namespace {
using Clock = std::chrono::steady_clock;
}  // namespace

std::string resolveInPath(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    std::string full = (dir.empty() ? "." : dir) + "/" + name;
    if (::access(full.c_str(), X_OK) == 0) return full;
  }
  return name;
}

void prepareChild(int out_fd, int err_fd) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
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
}

ChildProcess::~ChildProcess() { kill(); }

std::string ChildProcess::spawn(const std::vector<std::string>& argv, const std::string& cwd,
                                const std::string& log_path) {
  int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) return "open " + log_path + ": " + std::strerror(errno);
  std::string error = spawnWith(argv, cwd, log_fd, log_fd);
  ::close(log_fd);
  return error;
}

std::string ChildProcess::spawn(const std::vector<std::string>& argv, const std::string& cwd,
                                const std::string& out_path, const std::string& err_path) {
  int out_fd = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (out_fd < 0) return "open " + out_path + ": " + std::strerror(errno);
  int err_fd = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (err_fd < 0) {
    ::close(out_fd);
    return "open " + err_path + ": " + std::strerror(errno);
  }
  std::string error = spawnWith(argv, cwd, out_fd, err_fd);
  ::close(out_fd);
  ::close(err_fd);
  return error;
}

std::string ChildProcess::spawnWith(const std::vector<std::string>& argv, const std::string& cwd,
                                    int out_fd, int err_fd) {
  if (running()) return "a child (pid " + std::to_string(pid_) + ") is still running";
  if (argv.empty()) return "empty argv";
  std::string exe = resolveInPath(argv[0]);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid == 0) {
    prepareChild(out_fd, err_fd);
    if (::chdir(cwd.c_str()) != 0) ::_exit(126);
    ::execv(exe.c_str(), args.data());
    ::_exit(127);
  }
  if (pid < 0) return std::string("fork: ") + std::strerror(errno);
  pid_ = pid;
  exit_status_.reset();
  return {};
}

bool ChildProcess::running() {
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

std::optional<int> ChildProcess::waitExit(std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (running()) {
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // poll interval
  }
  return exit_status_;
}

std::optional<int> ChildProcess::stop(std::chrono::milliseconds grace) {
  if (!running()) return exit_status_;
  ::kill(pid_, SIGTERM);
  if (auto status = waitExit(grace)) return status;
  return kill();
}

void ChildProcess::signal(int sig) {
  if (running()) ::kill(pid_, sig);
}

std::optional<int> ChildProcess::kill() {
  if (!running()) return exit_status_;
  ::kill(pid_, SIGKILL);
  // SIGKILL cannot be caught: the wait is for the kernel to tear the process down.
  return waitExit(std::chrono::seconds(10));
}

}  // namespace switchyard::support
