#pragma once
// A cluster's retry budget on one worker: retries may add at most `budget_percent` of the
// requests seen over a sliding window (so that a broken deploy cannot multiply the load on the
// instances left), plus a small floor per second so that a cluster with little traffic can still
// retry. Worker thread only; time comes from the worker's TimeSource.

#include <array>
#include <cstdint>

#include "common/time_source.h"

namespace switchyard::proxy {

class RetryBudget {
 public:
  // The window is kBuckets buckets of one second each.
  static constexpr size_t kBuckets = 10;
  // Retries always allowed per second of window, whatever the traffic.
  static constexpr uint32_t kFloorPerSecond = 3;

  explicit RetryBudget(uint32_t budget_percent = 20) : percent_(budget_percent) {}
  void setPercent(uint32_t budget_percent) { percent_ = budget_percent; }

  // A request (first try) began.
  void onRequest(TimePoint now);
  // Whether one more retry fits the budget; when it does, it is counted.
  bool tryRetry(TimePoint now);

  uint64_t exhausted() const { return exhausted_; }

 private:
  struct Bucket {
    int64_t second = -1;
    uint32_t requests = 0;
    uint32_t retries = 0;
  };
  Bucket& current(TimePoint now);

  uint32_t percent_;
  std::array<Bucket, kBuckets> buckets_{};
  uint64_t exhausted_ = 0;
};

}  // namespace switchyard::proxy
