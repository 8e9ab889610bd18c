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

// Peak EWMA, after Finagle's and Linkerd's balancers, with a finite attack: a sample above the
// estimate pulls it up with the short time constant kPeakEwmaRise, one below pulls it down with
// kPeakEwmaFall, and with no sample the estimate decays towards 0 with kPeakEwmaDecay (Finagle's
// 10 s), so that a once-slow endpoint is eventually tried again. Each sample weighs
// 1 - e^(-dt/tau), dt being the time since the endpoint's previous sample: after a quiet spell (an
// endpoint being avoided) the first answer is believed at once, as Finagle's pure peak would; on
// a busy endpoint one late answer moves the estimate a few percent, and a run of them within
// a few kPeakEwmaRise.
//
// Why not Finagle's pure peak (any higher sample replaces the estimate, forgotten over 10 s): a
// stall of the gateway's worker or of the machine delays every answer in flight at that moment,
// and those are the answers of the endpoints in use, never of the one being avoided. With the
// pure peak each such stall made the healthy endpoints look as slow as the slow one for seconds
// (after a 40 ms stall, 7 s to fall back below a 20 ms endpoint), and the slow one got traffic
// again (bench/tail_latency_bench in bench/RESULTS.md; the stall test in p2c_ewma_test.cc).
inline constexpr std::chrono::nanoseconds kPeakEwmaRise = std::chrono::milliseconds(200);
inline constexpr std::chrono::nanoseconds kPeakEwmaFall = std::chrono::milliseconds(500);
inline constexpr std::chrono::nanoseconds kPeakEwmaDecay = std::chrono::seconds(10);

// Records one observed latency at `now`.
void observeLatency(EndpointLoad& load, double latency_us, TimePoint now);

// The estimate decayed to `now` (the stored value is not changed). 0 when never sampled.
double currentLatencyUs(const EndpointLoad& load, TimePoint now);

}  // namespace switchyard::routing
