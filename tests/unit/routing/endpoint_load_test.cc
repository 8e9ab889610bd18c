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

TEST(PeakEwma, AHigherSampleIsBelievedWithTheRiseTimeConstant) {
  ManualTimeSource time;
  EndpointLoad l;
  observeLatency(l, 1000, time.now());
  time.advance(kPeakEwmaRise);  // one rise time constant: the old estimate keeps e^-1
  observeLatency(l, 9000, time.now());
  const double keep = std::exp(-1.0);
  EXPECT_NEAR(currentLatencyUs(l, time.now()), 1000 * keep + 9000 * (1 - keep), 1e-6);
  // After a quiet spell (an endpoint being avoided), one answer is believed all but entirely.
  EndpointLoad quiet;
  observeLatency(quiet, 1000, time.now());
  time.advance(10 * kPeakEwmaRise);
  observeLatency(quiet, 9000, time.now());
  EXPECT_GT(currentLatencyUs(quiet, time.now()), 8990);
}

TEST(PeakEwma, OneLateAnswerOnABusyEndpointMovesItLittleARunOfThemMovesItAll) {
  ManualTimeSource time;
  EndpointLoad l;
  observeLatency(l, 1000, time.now());
  for (int i = 0; i < 100; ++i) {  // an answer every 2 ms
    time.advance(2ms);
    observeLatency(l, 1000, time.now());
  }
  time.advance(2ms);
  observeLatency(l, 30000, time.now());              // delayed by a stall of the machine
  EXPECT_LT(currentLatencyUs(l, time.now()), 1500);  // 1 - e^(-2/200) of the gap: about 290 us
  // The endpoint really slowed down: within a few rise times the estimate is there.
  for (int i = 0; i < 500; ++i) {  // 1 s: five rise times
    time.advance(2ms);
    observeLatency(l, 30000, time.now());
  }
  EXPECT_GT(currentLatencyUs(l, time.now()), 28500);
}

TEST(PeakEwma, ALowerSampleFallsWithItsTimeConstant) {
  ManualTimeSource time;
  EndpointLoad l;
  observeLatency(l, 10000, time.now());
  time.advance(kPeakEwmaFall);  // one time constant: the old estimate keeps e^-1
  observeLatency(l, 1000, time.now());
  const double keep = std::exp(-1.0);
  EXPECT_NEAR(currentLatencyUs(l, time.now()), 10000 * keep + 1000 * (1 - keep), 1e-6);
  // Samples in quick succession move it by their time, not by their number: a burst of 100
  // fast answers within 100 ms forgets as much as one answer 100 ms later would.
  EndpointLoad m;
  observeLatency(m, 10000, time.now());
  for (int i = 0; i < 100; ++i) {
    time.advance(1ms);
    observeLatency(m, 1000, time.now());
  }
  const double kept = std::exp(-std::chrono::duration<double>(100ms) / kPeakEwmaFall);
  EXPECT_NEAR(currentLatencyUs(m, time.now()), 1000 + 9000 * kept, 1e-6);
  EXPECT_GT(currentLatencyUs(m, time.now()), 5000);
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
