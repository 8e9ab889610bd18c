#include "proxy/h2_flood_guard.h"

#include <gtest/gtest.h>

namespace switchyard::proxy {
namespace {

using namespace std::chrono_literals;

TEST(H2FloodGuardTest, AllowsTheBurstThenTheRate) {
  H2FloodGuard guard({{{10, 5}, {10, 5}, {10, 5}, {10, 5}, {10, 5}}});
  const TimePoint t0{};
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(guard.allow(FloodKind::kRstStream, t0)) << i;
  EXPECT_FALSE(guard.allow(FloodKind::kRstStream, t0));
  // 5 a second: after 400 ms two more fit, not three.
  EXPECT_TRUE(guard.allow(FloodKind::kRstStream, t0 + 400ms));
  EXPECT_TRUE(guard.allow(FloodKind::kRstStream, t0 + 400ms));
  EXPECT_FALSE(guard.allow(FloodKind::kRstStream, t0 + 400ms));
}

TEST(H2FloodGuardTest, KindsAreCountedApart) {
  H2FloodGuard guard({{{2, 1}, {2, 1}, {2, 1}, {2, 1}, {2, 1}}});
  const TimePoint t0{};
  EXPECT_TRUE(guard.allow(FloodKind::kPing, t0));
  EXPECT_TRUE(guard.allow(FloodKind::kPing, t0));
  EXPECT_FALSE(guard.allow(FloodKind::kPing, t0));
  EXPECT_TRUE(guard.allow(FloodKind::kSettings, t0));
  EXPECT_TRUE(guard.allow(FloodKind::kEmptyData, t0));
}

TEST(H2FloodGuardTest, ASteadyClientBelowTheRateIsNeverStopped) {
  H2FloodGuard guard;  // the defaults: 10 PINGs a second are allowed forever
  TimePoint t{};
  for (int i = 0; i < 10000; ++i, t += 100ms) ASSERT_TRUE(guard.allow(FloodKind::kPing, t)) << i;
}

TEST(H2FloodGuardTest, TheBucketRefillsOnlyToItsBurst) {
  H2FloodGuard guard({{{3, 100}, {3, 100}, {3, 100}, {3, 100}, {3, 100}}});
  const TimePoint t0{};
  EXPECT_TRUE(guard.allow(FloodKind::kHeaders, t0));
  // An hour idle refills to the burst, not to 360,000.
  const TimePoint later = t0 + 1h;
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(guard.allow(FloodKind::kHeaders, later));
  EXPECT_FALSE(guard.allow(FloodKind::kHeaders, later));
}

TEST(H2FloodGuardTest, KindNamesAreTheMetricLabels) {
  EXPECT_EQ(floodKindName(FloodKind::kRstStream), "rst_stream");
  EXPECT_EQ(floodKindName(FloodKind::kSettings), "settings");
  EXPECT_EQ(floodKindName(FloodKind::kPing), "ping");
  EXPECT_EQ(floodKindName(FloodKind::kEmptyData), "empty_data");
  EXPECT_EQ(floodKindName(FloodKind::kHeaders), "headers");
}

}  // namespace
}  // namespace switchyard::proxy
