#include "routing/adaptive_timeout.h"

#include <gtest/gtest.h>

namespace switchyard::routing {
namespace {

using namespace std::chrono_literals;
using std::chrono::microseconds;
using std::chrono::milliseconds;

void observeMany(AdaptiveTimeout& t, ManualTimeSource& time, int n, microseconds latency) {
  for (int i = 0; i < n; ++i) t.observe(latency, time.now());
}

TEST(AdaptiveTimeoutTest, UnknownUntilEnoughAnswers) {
  AdaptiveTimeout t;
  ManualTimeSource time;
  EXPECT_EQ(t.deadline(time.now()), AdaptiveTimeout::kUnknown);
  observeMany(t, time, AdaptiveTimeout::kMinSamples - 1, 100ms);
  time.advance(AdaptiveTimeout::kRecomputeEvery);
  EXPECT_EQ(t.deadline(time.now()), AdaptiveTimeout::kUnknown);
  EXPECT_EQ(t.p99(time.now()), microseconds(0));
  t.observe(100ms, time.now());
  // Known as soon as it has enough answers: the unknown figure is not kept for a while.
  const auto d = t.deadline(time.now());
  EXPECT_GE(d, 3 * 100ms);
  EXPECT_LE(d, 3 * 120ms);
}

TEST(AdaptiveTimeoutTest, AFastClusterGetsTheFloor) {
  AdaptiveTimeout t;
  ManualTimeSource time;
  observeMany(t, time, 1000, 800us);
  EXPECT_EQ(t.deadline(time.now()), AdaptiveTimeout::kFloor);
  // The p99 is a bucket bound at most a fifth above the true value.
  const auto p99 = t.p99(time.now());
  EXPECT_GE(p99, 800us);
  EXPECT_LE(p99, 960us);
}

TEST(AdaptiveTimeoutTest, ASlowClusterGetsAMultipleOfItsP99) {
  AdaptiveTimeout t;
  ManualTimeSource time;
  observeMany(t, time, 990, 20ms);
  observeMany(t, time, 10, 400ms);  // the slowest 1 %
  const auto p99 = t.p99(time.now());
  EXPECT_GE(p99, 20ms);
  EXPECT_LE(p99, 25ms);
  observeMany(t, time, 20, 400ms);  // now 3 % are slow: the p99 is theirs
  time.advance(AdaptiveTimeout::kRecomputeEvery);
  const auto d = t.deadline(time.now());
  EXPECT_GE(d, 3 * 400ms);
  EXPECT_LE(d, 3 * 480ms);
}

TEST(AdaptiveTimeoutTest, NeverAboveTheCeiling) {
  AdaptiveTimeout t;
  ManualTimeSource time;
  observeMany(t, time, 100, 60s);
  EXPECT_EQ(t.deadline(time.now()), AdaptiveTimeout::kCeiling);
}

TEST(AdaptiveTimeoutTest, FollowsAChangeOfSpeedWithinTwoWindows) {
  AdaptiveTimeout t;
  ManualTimeSource time;
  observeMany(t, time, 500, 300ms);
  EXPECT_GE(t.deadline(time.now()), 900ms);
  // The cluster becomes fast: once the slow window has aged out, only fast answers count.
  for (int i = 0; i < 2 * 5 + 1; ++i) {
    time.advance(1s);
    observeMany(t, time, 100, 1ms);
  }
  EXPECT_EQ(t.deadline(time.now()), AdaptiveTimeout::kFloor);
}

TEST(AdaptiveTimeoutTest, ALongQuietForgetsWhatItSaw) {
  AdaptiveTimeout t;
  ManualTimeSource time;
  observeMany(t, time, 500, 300ms);
  time.advance(3 * AdaptiveTimeout::kWindow);
  EXPECT_EQ(t.deadline(time.now()), AdaptiveTimeout::kUnknown);
}

}  // namespace
}  // namespace switchyard::routing
