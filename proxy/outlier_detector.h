#pragma once
// Passive health: an instance that fails `consecutive_failures` times in a row (connect failures
// and 5xx answers) is ejected for base_ejection_ms × the number of times it was ejected (capped),
// and never more than max_ejected_percent of a cluster at once. Each worker judges on its own
// traffic (per worker, as Envoy does): a worker that sees an instance fail ejects it for itself.
// Worker thread only; time is passed in.

#include <chrono>
#include <cstddef>
#include <cstdint>

#include "common/time_source.h"
#include "config/config.h"

namespace switchyard::proxy {

// One instance's record, kept in its UpstreamHost.
struct OutlierState {
  uint32_t consecutive_failures = 0;
  uint32_t ejections = 0;  // times ejected (the multiplier of the next ejection)
  bool ejected = false;
  TimePoint ejected_until{};
};

class OutlierDetector {
 public:
  // The multiplier stops growing here (30 s base: at most 5 minutes out).
  static constexpr uint32_t kMaxMultiplier = 10;

  explicit OutlierDetector(const config::OutlierDetection& config) : config_(config) {}
  void setConfig(const config::OutlierDetection& config) { config_ = config; }

  // A failure of the instance. `ejected_now` of `hosts` instances of the cluster are ejected.
  // True when this failure ejects it.
  bool onFailure(OutlierState& s, TimePoint now, size_t ejected_now, size_t hosts) const;
  void onSuccess(OutlierState& s) const { s.consecutive_failures = 0; }
  // True when an ejected instance's time is over (it is back, with a clean count).
  bool maybeReturn(OutlierState& s, TimePoint now) const;

 private:
  std::chrono::milliseconds base() const {
    return std::chrono::milliseconds(config_.base_ejection_ms);
  }
  config::OutlierDetection config_;
};

}  // namespace switchyard::proxy
