#pragma once
// The live load of one endpoint as one worker sees it, and the peak-EWMA latency estimate that
// p2c_ewma reads. Worker thread only: the worker that owns the endpoint's UpstreamHost is the
// only writer and the only reader, so nothing here is atomic.

#include <chrono>
#include <cstdint>

#include "common/time_source.h"

namespace switchyard::routing {

struct EndpointLoad {
  uint32_t in_flight = 0;      // exchanges from pick to the end of the response
  bool sampled = false;        // at least one latency observed
  double ewma_latency_us = 0;  // peak EWMA as of ewma_at
  TimePoint ewma_at{};
};

// Peak EWMA, as Finagle's and Linkerd's balancers keep it: a sample above the estimate replaces
// it at once (slowness is believed immediately), a sample below pulls it down with this time
// constant, and with no sample the estimate decays towards 0, so that a once-slow endpoint is
// eventually tried again.
inline constexpr std::chrono::nanoseconds kPeakEwmaDecay = std::chrono::seconds(10);

// Records one observed latency at `now`.
void observeLatency(EndpointLoad& load, double latency_us, TimePoint now);

// The estimate decayed to `now` (the stored value is not changed). 0 when never sampled.
double currentLatencyUs(const EndpointLoad& load, TimePoint now);

}  // namespace switchyard::routing
