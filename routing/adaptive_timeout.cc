#include "routing/adaptive_timeout.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace switchyard::routing {

size_t AdaptiveTimeout::bucketOf(uint64_t micros) {
  if (micros < 4) return static_cast<size_t>(micros);
  const int e = std::bit_width(micros) - 1;  // 2^e ≤ micros < 2^(e+1)
  const uint64_t m = (micros >> (e - 2)) & 3;
  return std::min(kBuckets - 1, static_cast<size_t>(4 * e) + static_cast<size_t>(m));
}

uint64_t AdaptiveTimeout::upperBoundOf(size_t bucket) {
  if (bucket < 8) return bucket + 1;  // buckets 0..3 exact; 4..7 (e = 1) do not occur
  const size_t e = bucket / 4, m = bucket % 4;
  return (uint64_t{5} + m) << (e - 2);
}

void AdaptiveTimeout::rotate(TimePoint now) {
  if (!started_) {
    started_ = true;
    window_start_ = now;
    return;
  }
  if (now - window_start_ < kWindow) return;
  if (now - window_start_ >= 2 * kWindow) {
    // Quiet for longer than both windows: what was seen is too old to say anything.
    previous_.fill(0);
    previous_count_ = 0;
  } else {
    previous_ = current_;
    previous_count_ = current_count_;
  }
  current_.fill(0);
  current_count_ = 0;
  window_start_ = now;
  computed_ = false;
}

void AdaptiveTimeout::observe(std::chrono::microseconds latency, TimePoint now) {
  rotate(now);
  ++current_[bucketOf(static_cast<uint64_t>(std::max<int64_t>(0, latency.count())))];
  ++current_count_;
}

void AdaptiveTimeout::recompute(TimePoint now) {
  computed_ = true;
  computed_at_ = now;
  const uint64_t total = uint64_t{current_count_} + previous_count_;
  if (total < kMinSamples) {
    p99_ = std::chrono::microseconds(0);
    deadline_ = kUnknown;
    return;
  }
  // The smallest bucket bound with at least 99 % of the answers at or below it.
  const uint64_t wanted = total - total / 100;
  uint64_t seen = 0;
  size_t b = 0;
  for (; b < kBuckets; ++b) {
    seen += uint64_t{current_[b]} + previous_[b];
    if (seen >= wanted) break;
  }
  p99_ = std::chrono::microseconds(upperBoundOf(std::min(b, kBuckets - 1)));
  const auto scaled = std::chrono::milliseconds(
      static_cast<int64_t>(std::ceil(static_cast<double>(p99_.count()) * kMultiplier / 1000.0)));
  deadline_ = std::clamp(scaled, kFloor, kCeiling);
}

std::chrono::milliseconds AdaptiveTimeout::deadline(TimePoint now) {
  rotate(now);
  if (!computed_ || p99_.count() == 0 || now - computed_at_ >= kRecomputeEvery) recompute(now);
  return deadline_;
}

std::chrono::microseconds AdaptiveTimeout::p99(TimePoint now) {
  deadline(now);
  return p99_;
}

}  // namespace switchyard::routing
