#pragma once
// Injected time, so that load-balancer, retry, ejection and health-check logic is testable
// without sleeping.

#include <chrono>

namespace switchyard {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;

class TimeSource {
 public:
  virtual ~TimeSource() = default;
  virtual TimePoint now() const = 0;
};

class SystemTimeSource final : public TimeSource {
 public:
  TimePoint now() const override { return Clock::now(); }
};

// For tests: time moves only when told to.
class ManualTimeSource final : public TimeSource {
 public:
  TimePoint now() const override { return now_; }
  void advance(Clock::duration d) { now_ += d; }

 private:
  TimePoint now_{};
};

}  // namespace switchyard
