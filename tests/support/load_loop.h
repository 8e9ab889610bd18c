#pragma once
// Steady traffic through a gateway from a background thread, the way a real client sees it:
// each request on a fresh connection (so every request picks an instance and none hides behind
// a kept-alive connection), one after the other, with a short pause. Counts the answers by
// status and remembers every failure (anything but a 2xx: a refused connection, a reset, a 5xx),
// so a test can assert "no failed request while ..." and print what failed.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace switchyard::support {

class LoadLoop {
 public:
  // Starts sending GET target to 127.0.0.1:port at once.
  LoadLoop(uint16_t port, std::string target = "/",
           std::chrono::milliseconds pause = std::chrono::milliseconds(2));
  ~LoadLoop();  // stop()s
  LoadLoop(const LoadLoop&) = delete;
  LoadLoop& operator=(const LoadLoop&) = delete;

  void stop();
  uint64_t sent() const { return sent_.load(); }
  uint64_t succeeded() const { return succeeded_.load(); }
  uint64_t failed() const { return failed_.load(); }
  // Requests answered by each backend (the x-backend header of the test backends).
  std::map<std::string, uint64_t> byBackend() const;
  // When each backend first answered one of this loop's requests (steady clock).
  std::map<std::string, std::chrono::steady_clock::time_point> firstAnswers() const;
  // Requests (failed or not) that took longer than kSlow, and the longest one.
  static constexpr std::chrono::milliseconds kSlow{1000};
  uint64_t slow() const { return slow_.load(); }
  std::chrono::milliseconds longest() const {
    return std::chrono::milliseconds(longest_ms_.load());
  }
  // The first failures, described (status, error, x-switchyard-error), for assertion messages.
  std::vector<std::string> failures() const;
  // Waits until `n` more requests have succeeded than when called; false at the bound.
  bool waitForSuccesses(uint64_t n, std::chrono::milliseconds bound) const;

 private:
  void run();

  uint16_t port_;
  std::string target_;
  std::chrono::milliseconds pause_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> sent_{0};
  std::atomic<uint64_t> succeeded_{0};
  std::atomic<uint64_t> failed_{0};
  std::atomic<uint64_t> slow_{0};
  std::atomic<int64_t> longest_ms_{0};
  mutable std::mutex mutex_;
  std::map<std::string, uint64_t> by_backend_;
  std::map<std::string, std::chrono::steady_clock::time_point> first_answers_;
  std::vector<std::string> failures_;
  std::thread thread_;
};

}  // namespace switchyard::support
