#include "routing/endpoint_load.h"

#include <gtest/gtest.h>

#include <cmath>

namespace switchyard::routing {
namespace {

using namespace std::chrono_literals;

TEST(PeakEwma, FirstSampleIsTheEstimate) {
  ManualTimeSource time;
  EndpointLoad l;
  EXPECT_FALSE(l.sampled);
  EXPECT_EQ(currentLatencyUs(l, time.now()), 0);
  observeLatency(l, 1500, time.now());
  EXPECT_TRUE(l.sampled);
  EXPECT_DOUBLE_EQ(currentLatencyUs(l, time.now()), 1500);
}

TEST(PeakEwma, AHigherSampleReplacesTheEstimateAtOnce) {
  ManualTimeSource time;
  EndpointLoad l;
  observeLatency(l, 1000, time.now());
  time.advance(1ms);
  observeLatency(l, 9000, time.now());
  EXPECT_DOUBLE_EQ(currentLatencyUs(l, time.now()), 9000);
}

TEST(PeakEwma, ALowerSampleDecaysWithTheTimeConstant) {
  ManualTimeSource time;
  EndpointLoad l;
  observeLatency(l, 10000, time.now());
  time.advance(kPeakEwmaDecay);  // one time constant: the old estimate keeps e^-1
  observeLatency(l, 1000, time.now());
  const double keep = std::exp(-1.0);
  EXPECT_NEAR(currentLatencyUs(l, time.now()), 10000 * keep + 1000 * (1 - keep), 1e-6);
  // Samples in quick succession barely move it: one slow answer is not forgotten in a burst.
  EndpointLoad m;
  observeLatency(m, 10000, time.now());
  for (int i = 0; i < 100; ++i) {
    time.advance(1ms);
    observeLatency(m, 1000, time.now());
  }
  EXPECT_GT(currentLatencyUs(m, time.now()), 9000);
}

TEST(PeakEwma, WithoutSamplesTheEstimateDecaysTowardsZero) {
  ManualTimeSource time;
  EndpointLoad l;
  observeLatency(l, 8000, time.now());
  time.advance(2 * kPeakEwmaDecay);
  EXPECT_NEAR(currentLatencyUs(l, time.now()), 8000 * std::exp(-2.0), 1e-6);
  EXPECT_DOUBLE_EQ(l.ewma_latency_us, 8000);  // reading changes nothing
}

}  // namespace
}  // namespace switchyard::routing
