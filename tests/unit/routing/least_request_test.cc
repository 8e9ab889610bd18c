#include "routing/least_request.h"

#include <gtest/gtest.h>

#include <deque>

#include "tests/unit/routing/lb_test_util.h"

namespace switchyard::routing {
namespace {

using testing::countPicks;
using testing::expectSharesFollowWeights;
using testing::LoadTable;
using testing::snapshotWithWeights;

TEST(LeastRequest, IdleItFollowsTheWeights) {
  Random random(7);
  LeastRequest lb(random);
  const std::vector<double> weights = {1, 2, 3, 4};
  auto s = snapshotWithWeights(weights);
  lb.update(s);
  LoadTable load(4);
  expectSharesFollowWeights(countPicks(lb, load.context(), 100000), weights, 100000);
  // Without live figures it draws by weight too.
  expectSharesFollowWeights(countPicks(lb, PickContext{}, 100000), weights, 100000);
}

TEST(LeastRequest, WeightZeroGetsNothing) {
  Random random(7);
  LeastRequest lb(random);
  auto s = snapshotWithWeights({1, 0, 1});
  lb.update(s);
  LoadTable load(3);
  load.loads[0].in_flight = 50;
  load.loads[2].in_flight = 50;  // the weight-0 endpoint is idle, and still gets nothing
  EXPECT_EQ(countPicks(lb, load.context(), 10000).count(1), 0u);
  auto zeros = snapshotWithWeights({0, 0});
  lb.update(zeros);
  EXPECT_EQ(lb.pick(PickContext{}), -1);
  auto empty = snapshotWithWeights({});
  lb.update(empty);
  EXPECT_EQ(lb.pick(PickContext{}), -1);
}

TEST(LeastRequest, ExcludeIsHonoured) {
  Random random(7);
  LeastRequest lb(random);
  LoadTable load(3);
  auto two = snapshotWithWeights({1, 1});
  lb.update(two);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(lb.pick(load.context(), 0), 1);
  auto three = snapshotWithWeights({1, 1, 1});
  lb.update(three);
  load.loads[0].in_flight = 0;  // the excluded one is the idlest: still skipped
  load.loads[1].in_flight = 9;
  load.loads[2].in_flight = 9;
  auto count = countPicks(lb, load.context(), 10000, 0);
  EXPECT_EQ(count.count(0), 0u);
  EXPECT_GT(count[1], 4000);
  EXPECT_GT(count[2], 4000);
  // A single endpoint is returned even when excluded: a retry there beats no answer.
  auto one = snapshotWithWeights({1});
  lb.update(one);
  EXPECT_EQ(lb.pick(load.context(), 0), 0);
}

TEST(LeastRequest, PrefersIdleEndpoints) {
  Random random(11);
  LeastRequest lb(random);
  auto s = snapshotWithWeights({1, 1, 1, 1});
  lb.update(s);
  LoadTable load(4);
  for (int i = 0; i < 3; ++i) load.loads[static_cast<size_t>(i)].in_flight = 5;
  // The idle endpoint wins whenever it is one of the two candidates: 1 - (3/4 * 2/3) = 1/2.
  auto count = countPicks(lb, load.context(), 60000);
  EXPECT_NEAR(count[3], 30000, 5 * std::sqrt(60000 * 0.25));
  for (int i = 0; i < 3; ++i) EXPECT_NEAR(count[i], 10000, 5 * std::sqrt(60000 * 0.14));
}

TEST(LeastRequest, InFlightIsComparedPerUnitOfWeight) {
  Random random(3);
  LeastRequest lb(random);
  auto s = snapshotWithWeights({1, 3});
  lb.update(s);
  LoadTable load(2);
  load.loads[0].in_flight = 2;  // 2 per unit of weight
  load.loads[1].in_flight = 3;  // 1 per unit of weight: always the better one
  EXPECT_EQ(countPicks(lb, load.context(), 1000)[1], 1000);
  load.loads[0].in_flight = 1;  // 1 and 1: a tie, so the weighted draw decides
  auto count = countPicks(lb, load.context(), 40000);
  EXPECT_NEAR(count[1], 30000, 5 * std::sqrt(40000 * 0.1875));
}

// A closed simulation: one request arrives per step, endpoint 3 holds each for ten steps, the
// others for one. Round robin would give it a quarter; least_request steers most away from it.
TEST(LeastRequest, SendsLessToAnEndpointThatHoldsRequestsLonger) {
  Random random(5);
  LeastRequest lb(random);
  auto s = snapshotWithWeights({1, 1, 1, 1});
  lb.update(s);
  LoadTable load(4);
  const int hold[4] = {1, 1, 1, 10};
  std::deque<std::pair<int, int>> pending;  // (finish step, endpoint)
  std::map<int, int> count;
  for (int step = 0; step < 20000; ++step) {
    while (!pending.empty() && pending.front().first <= step) {
      --load.loads[static_cast<size_t>(pending.front().second)].in_flight;
      pending.pop_front();
    }
    for (int k = 0; k < 3; ++k) {  // three arrivals per step keep every endpoint a little busy
      const int e = lb.pick(load.context());
      ++count[e];
      ++load.loads[static_cast<size_t>(e)].in_flight;
      pending.emplace_back(step + hold[e], e);
      std::sort(pending.begin(), pending.end());
    }
  }
  EXPECT_LT(count[3], 60000 * 0.15) << "the slow endpoint got " << count[3];
  EXPECT_GT(count[3], 0);
}

}  // namespace
}  // namespace switchyard::routing
