#pragma once
// The per-try deadline a cluster's idempotent requests get when retries.per_try_timeout_ms is
// "auto" (the default): a multiple of the cluster's recent p99 time-to-response-head, between a
// floor and a ceiling. It is how a frozen machine (TCP connections open, nothing answering) is
// found in well under a second without a fixed number that would be wrong for every other
// service: Finagle's backup requests and Envoy's hedging key on the same percentile.
//
// One per cluster per worker (ClusterRuntime); worker thread only; time is passed in. The
// recent latency is two windows of kWindow (the current and the one before), so a change of the
// cluster's speed is followed within kWindow..2×kWindow.

#include <array>
#include <chrono>
#include <cstdint>

#include "common/time_source.h"

namespace switchyard::routing {

class AdaptiveTimeout {
 public:
  static constexpr auto kWindow = std::chrono::seconds(5);
  // Fewer answers than this in the two windows: not enough to know the cluster; kUnknown.
  static constexpr uint32_t kMinSamples = 32;
  // The deadline while the cluster's latency is not known yet (a fresh gateway, a quiet cluster):
  // short enough that a hung instance costs under a second even then; a slower cluster's first
  // requests may be retried meanwhile, within the retry budget.
  static constexpr std::chrono::milliseconds kUnknown{500};
  static constexpr double kMultiplier = 3.0;
  // A GC pause or a cold cache on a healthy instance stays under the floor; a hung one does not
  // keep a request much longer than it.
  static constexpr std::chrono::milliseconds kFloor{250};
  static constexpr std::chrono::milliseconds kCeiling{30000};
  // The deadline is recomputed at most this often (a scan of the histogram); while it is
  // unknown, at every call (a count, no scan).
  static constexpr std::chrono::milliseconds kRecomputeEvery{250};

  // A try's time from the request sent to the response head.
  void observe(std::chrono::microseconds latency, TimePoint now);
  // The per-try deadline now (the caller caps it at the request's own deadline).
  std::chrono::milliseconds deadline(TimePoint now);
  // The p99 the deadline is derived from, or zero while unknown (for tests and the admin API).
  std::chrono::microseconds p99(TimePoint now);

 private:
  // Log-scale buckets, four per power of two (≤ 19 % apart): bucket 4·e + m holds latencies in
  // [(4 + m)·2^(e-2), (5 + m)·2^(e-2)) µs for e ≥ 2; values under 4 µs fall in the first ones.
  static constexpr size_t kBuckets = 4 * 40;
  using Histogram = std::array<uint32_t, kBuckets>;
  static size_t bucketOf(uint64_t micros);
  static uint64_t upperBoundOf(size_t bucket);

  void rotate(TimePoint now);
  void recompute(TimePoint now);

  Histogram current_{};
  Histogram previous_{};
  uint32_t current_count_ = 0;
  uint32_t previous_count_ = 0;
  TimePoint window_start_{};
  bool started_ = false;
  TimePoint computed_at_{};
  bool computed_ = false;
  std::chrono::microseconds p99_{0};
  std::chrono::milliseconds deadline_{kUnknown};
};

}  // namespace switchyard::routing
