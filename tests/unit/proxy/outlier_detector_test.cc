#include "proxy/outlier_detector.h"

#include <gtest/gtest.h>

namespace switchyard::proxy {
namespace {

using namespace std::chrono_literals;

config::OutlierDetection od(uint32_t failures, uint32_t base_ms, uint32_t max_percent) {
  config::OutlierDetection c;
  c.consecutive_failures = failures;
  c.base_ejection_ms = base_ms;
  c.max_ejected_percent = max_percent;
  return c;
}

TEST(OutlierDetectorTest, EjectsAfterConsecutiveFailuresOnly) {
  OutlierDetector d(od(3, 1000, 50));
  OutlierState s;
  ManualTimeSource t;
  EXPECT_FALSE(d.onFailure(s, t.now(), 0, 4));
  EXPECT_FALSE(d.onFailure(s, t.now(), 0, 4));
  d.onSuccess(s);  // the run is broken
  EXPECT_FALSE(d.onFailure(s, t.now(), 0, 4));
  EXPECT_FALSE(d.onFailure(s, t.now(), 0, 4));
  EXPECT_TRUE(d.onFailure(s, t.now(), 0, 4));
  EXPECT_TRUE(s.ejected);
  EXPECT_EQ(s.ejected_until, t.now() + 1000ms);
}

TEST(OutlierDetectorTest, EjectionTimeGrowsWithEachEjectionAndEnds) {
  OutlierDetector d(od(1, 1000, 50));
  OutlierState s;
  ManualTimeSource t;
  ASSERT_TRUE(d.onFailure(s, t.now(), 0, 2));
  t.advance(999ms);
  EXPECT_FALSE(d.maybeReturn(s, t.now()));
  t.advance(1ms);
  EXPECT_TRUE(d.maybeReturn(s, t.now()));
  EXPECT_FALSE(s.ejected);
  ASSERT_TRUE(d.onFailure(s, t.now(), 0, 2));
  EXPECT_EQ(s.ejected_until, t.now() + 2000ms);  // second ejection: twice as long
  t.advance(2000ms);
  ASSERT_TRUE(d.maybeReturn(s, t.now()));
  // Well behaved for long: back to one base period.
  t.advance(1000ms * OutlierDetector::kMaxMultiplier + 1ms);
  ASSERT_TRUE(d.onFailure(s, t.now(), 0, 2));
  EXPECT_EQ(s.ejected_until, t.now() + 1000ms);
}

TEST(OutlierDetectorTest, NeverEjectsMoreThanTheMaxPercent) {
  OutlierDetector d(od(1, 1000, 50));
  ManualTimeSource t;
  OutlierState a, b, c;
  EXPECT_TRUE(d.onFailure(a, t.now(), 0, 4));
  EXPECT_TRUE(d.onFailure(b, t.now(), 1, 4));
  EXPECT_FALSE(d.onFailure(c, t.now(), 2, 4));  // 3 of 4 would be 75 %
  EXPECT_FALSE(c.ejected);
  OutlierState single;
  EXPECT_FALSE(d.onFailure(single, t.now(), 0, 1));  // 50 % of one instance is none
}

}  // namespace
}  // namespace switchyard::proxy
