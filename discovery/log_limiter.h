#pragma once
// Limits repeated error logs from a source that retries (a missing file polled every 500 ms):
// a new message is logged at once, the same message again only after `interval`.

#include <chrono>
#include <string>
#include <string_view>

#include "common/time_source.h"

namespace switchyard::discovery {

class LogLimiter {
 public:
  explicit LogLimiter(Clock::duration interval = std::chrono::seconds(60)) : interval_(interval) {}

  // True when `message` should be logged now; counts the suppressed repeats otherwise.
  bool allow(std::string_view message, TimePoint now) {
    if (logged_once_ && message == last_ && now - last_time_ < interval_) {
      ++suppressed_;
      return false;
    }
    logged_once_ = true;
    last_.assign(message);
    last_time_ = now;
    suppressed_ = 0;
    return true;
  }
  // The error is gone: the next one is logged at once, even if it is the same message.
  void reset() {
    logged_once_ = false;
    suppressed_ = 0;
  }
  uint64_t suppressed() const { return suppressed_; }

 private:
  Clock::duration interval_;
  bool logged_once_ = false;
  std::string last_;
  TimePoint last_time_{};
  uint64_t suppressed_ = 0;
};

}  // namespace switchyard::discovery
