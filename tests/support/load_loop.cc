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
    HttpResponse response = HttpClient::get(port_, target_, {}, std::chrono::seconds(10));
    if (response.ok() && response.status >= 200 && response.status < 300) {
      ++succeeded_;
      std::lock_guard lock(mutex_);
      ++by_backend_[response.header("x-backend")];
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

std::vector<std::string> LoadLoop::failures() const {
  std::lock_guard lock(mutex_);
  return failures_;
}

bool LoadLoop::waitForSuccesses(uint64_t n, std::chrono::milliseconds bound) const {
  const uint64_t target = succeeded() + n;
  return eventually([&] { return succeeded() >= target; }, bound);
}

}  // namespace switchyard::support
