#include "tests/support/load_loop.h"

#include "tests/support/eventually.h"
#include "tests/support/http_client.h"

namespace switchyard::support {

namespace {
constexpr size_t kMaxRecordedFailures = 20;
}

LoadLoop::LoadLoop(uint16_t port, std::string target, std::chrono::milliseconds pause)
    : port_(port), target_(std::move(target)), pause_(pause), thread_([this] { run(); }) {}

LoadLoop::~LoadLoop() { stop(); }

void LoadLoop::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void LoadLoop::run() {
  while (!stop_) {
    ++sent_;
    const auto start = std::chrono::steady_clock::now();
    HttpResponse response = HttpClient::get(port_, target_, {}, std::chrono::seconds(10));
    const auto end = std::chrono::steady_clock::now();
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(end - start);
    if (took > kSlow) ++slow_;
    if (took.count() > longest_ms_.load()) longest_ms_ = took.count();
    if (response.ok() && response.status >= 200 && response.status < 300) {
      ++succeeded_;
      std::lock_guard lock(mutex_);
      const std::string backend = response.header("x-backend");
      ++by_backend_[backend];
      first_answers_.try_emplace(backend, end);
    } else {
      ++failed_;
      std::lock_guard lock(mutex_);
      if (failures_.size() < kMaxRecordedFailures) failures_.push_back(response.describe());
    }
    if (pause_.count() > 0) std::this_thread::sleep_for(pause_);
  }
}

std::map<std::string, uint64_t> LoadLoop::byBackend() const {
  std::lock_guard lock(mutex_);
  return by_backend_;
}

std::map<std::string, std::chrono::steady_clock::time_point> LoadLoop::firstAnswers() const {
  std::lock_guard lock(mutex_);
  return first_answers_;
}

std::vector<std::string> LoadLoop::failures() const {
  std::lock_guard lock(mutex_);
  return failures_;
}

bool LoadLoop::waitForSuccesses(uint64_t n, std::chrono::milliseconds bound) const {
  const uint64_t target = succeeded() + n;
  return eventually([&] { return succeeded() >= target; }, bound);
}

}  // namespace switchyard::support
