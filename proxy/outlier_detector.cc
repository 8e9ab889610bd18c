#include "proxy/outlier_detector.h"

#include <algorithm>

namespace switchyard::proxy {

bool OutlierDetector::onFailure(OutlierState& s, TimePoint now, size_t ejected_now,
                                size_t hosts) const {
  if (s.ejected) return false;
  // An instance well behaved for long enough starts again from a single base period.
  if (s.ejections > 0 && now - s.ejected_until > base() * kMaxMultiplier) s.ejections = 0;
  if (++s.consecutive_failures < config_.consecutive_failures) return false;
  const size_t max_ejected = hosts * config_.max_ejected_percent / 100;
  if (ejected_now + 1 > max_ejected) return false;  // keeps counting; may eject later
  s.ejections = std::min(s.ejections + 1, kMaxMultiplier);
  s.ejected = true;
  s.ejected_until = now + base() * s.ejections;
  s.consecutive_failures = 0;
  return true;
}

bool OutlierDetector::maybeReturn(OutlierState& s, TimePoint now) const {
  if (!s.ejected || now < s.ejected_until) return false;
  s.ejected = false;
  s.consecutive_failures = 0;
  return true;
}

void OutlierDetector::onStartingFailure(OutlierState& s, TimePoint now) const {
  const auto backoff = std::min<std::chrono::milliseconds>(
      kStartBackoffMax, kStartBackoffFirst * (1u << std::min(s.start_refusals, 8u)));
  ++s.start_refusals;
  s.starting = true;
  s.starting_until = now + backoff;
}

bool OutlierDetector::onConnected(OutlierState& s) const {
  if (s.connected_once) return false;
  s.connected_once = true;
  const bool was_starting = s.starting;
  s.starting = false;
  s.start_refusals = 0;
  return was_starting;
}

}  // namespace switchyard::proxy
