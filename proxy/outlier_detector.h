#pragma once
// Passive health: an instance that fails `consecutive_failures` times in a row (connect failures,
// timeouts and 5xx answers) is ejected for base_ejection_ms × the number of times it was ejected
// (capped), and never more than max_ejected_percent of a cluster at once. Each worker judges on its
// own traffic (per worker, as Envoy does): a worker that sees an instance fail ejects it for
// itself. Worker thread only; time is passed in.
//
// An instance that has never accepted a connection on this worker is not judged that way: a
// scheduler such as Aurora announces a task before its port listens, so its first refusals are
// expected. Each one puts it in a short back-off instead ("starting": kStartBackoffFirst doubling
// to kStartBackoffMax), after which real traffic tries it again; the first connection ends it
// and from then on the usual rules apply. A 30 s ejection there would keep a healthy new instance
// out of rotation after every deploy. An instance still refusing kStartGrace after it appeared
// is judged by the usual rules too (a task that never came up: its refusals cost latency).

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
  // Never connected on this worker yet, and refused at least once: backing off until
  // starting_until, then tried again by traffic.
  bool connected_once = false;
  bool starting = false;
  uint32_t start_refusals = 0;
  TimePoint starting_until{};
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

  static constexpr std::chrono::milliseconds kStartBackoffFirst{250};
  // Aurora gives a task 15 s (initial_interval_secs) to become healthy; twice that here.
  static constexpr std::chrono::seconds kStartGrace{30};
  // Short enough that an instance is in rotation within about a second of listening.
  static constexpr std::chrono::milliseconds kStartBackoffMax{1000};
  // A connect failure of an instance that has never connected: its next back-off.
  void onStartingFailure(OutlierState& s, TimePoint now) const;
  // The instance accepted a connection. True when that ends its "starting" time.
  bool onConnected(OutlierState& s) const;
  // Whether a starting instance is in its back-off (gets no traffic) at `now`.
  static bool backingOff(const OutlierState& s, TimePoint now) {
    return s.starting && now < s.starting_until;
  }

 private:
  std::chrono::milliseconds base() const {
    return std::chrono::milliseconds(config_.base_ejection_ms);
  }
  config::OutlierDetection config_;
};

}  // namespace switchyard::proxy
