#include "routing/endpoint_load.h"

#include <algorithm>
#include <cmath>

namespace switchyard::routing {

namespace {

// exp(-elapsed / tau): the weight the old estimate keeps after `elapsed`.
double keep(TimePoint from, TimePoint now, std::chrono::nanoseconds tau = kPeakEwmaDecay) {
  const auto elapsed = std::max(now - from, Clock::duration::zero());  // a clock never goes back
  const double ratio =
      std::chrono::duration<double>(elapsed).count() / std::chrono::duration<double>(tau).count();
  return std::exp(-ratio);
}

}  // namespace

void observeLatency(EndpointLoad& load, double latency_us, TimePoint now) {
  latency_us = std::max(latency_us, 0.0);
  if (!load.sampled) {
    load.ewma_latency_us = latency_us;
  } else {
    const bool rising = latency_us > load.ewma_latency_us;
    const double w = keep(load.ewma_at, now, rising ? kPeakEwmaRise : kPeakEwmaFall);
    load.ewma_latency_us = load.ewma_latency_us * w + latency_us * (1.0 - w);
  }
  load.sampled = true;
  load.ewma_at = now;
}

double currentLatencyUs(const EndpointLoad& load, TimePoint now) {
  if (!load.sampled) return 0;
  return load.ewma_latency_us * keep(load.ewma_at, now);
}

}  // namespace switchyard::routing
