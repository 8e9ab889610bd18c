#include "proxy/retry_budget.h"

#include <gtest/gtest.h>

namespace switchyard::proxy {
namespace {

using namespace std::chrono_literals;

constexpr uint32_t kFloor = RetryBudget::kFloorPerSecond * RetryBudget::kBuckets;

uint32_t retriesAllowed(RetryBudget& budget, TimePoint now, uint32_t max = 100000) {
  uint32_t n = 0;
  while (n < max && budget.tryRetry(now)) ++n;
  return n;
}

TEST(RetryBudgetTest, WithoutTrafficOnlyTheFloorIsAllowed) {
  ManualTimeSource time;
  time.advance(1000s);
  RetryBudget budget(20);
  EXPECT_EQ(retriesAllowed(budget, time.now()), kFloor);
  EXPECT_EQ(budget.exhausted(), 1u);
}

TEST(RetryBudgetTest, AllowsThePercentOfRequestsOverTheWindowPlusTheFloor) {
  ManualTimeSource time;
  time.advance(1000s);
  RetryBudget budget(20);
  for (int s = 0; s < 5; ++s) {
    for (int i = 0; i < 200; ++i) budget.onRequest(time.now());
    time.advance(1s);
  }
  // 1000 requests in the window: 200 retries, plus the floor.
  EXPECT_EQ(retriesAllowed(budget, time.now()), 200 + kFloor);
}

TEST(RetryBudgetTest, OldRequestsAndRetriesLeaveTheWindow) {
  ManualTimeSource time;
  time.advance(1000s);
  RetryBudget budget(50);
  for (int i = 0; i < 1000; ++i) budget.onRequest(time.now());
  EXPECT_EQ(retriesAllowed(budget, time.now()), 500 + kFloor);
  time.advance(5s);
  EXPECT_EQ(retriesAllowed(budget, time.now()), 0u);  // still inside the window
  time.advance(std::chrono::seconds(RetryBudget::kBuckets));
  EXPECT_EQ(retriesAllowed(budget, time.now()), kFloor);  // requests and retries expired
}

TEST(RetryBudgetTest, ZeroPercentKeepsOnlyTheFloor) {
  ManualTimeSource time;
  time.advance(1000s);
  RetryBudget budget(0);
  for (int i = 0; i < 10000; ++i) budget.onRequest(time.now());
  EXPECT_EQ(retriesAllowed(budget, time.now()), kFloor);
}

}  // namespace
}  // namespace switchyard::proxy
