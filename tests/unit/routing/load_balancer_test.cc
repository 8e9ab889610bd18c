#include <gtest/gtest.h>

#include <limits>
#include <map>

#include "routing/least_request.h"
#include "routing/maglev.h"
#include "routing/p2c_ewma.h"
#include "routing/ring_hash.h"
#include "routing/round_robin.h"
#include "routing/weighted_round_robin.h"

namespace switchyard::routing {
namespace {

ClusterSnapshot snapshotWithWeights(const std::vector<double>& weights) {
  ClusterSnapshot s;
  for (size_t i = 0; i < weights.size(); ++i) {
    Endpoint e;
    e.id = "10.0.0." + std::to_string(i + 1) + ":80";
    e.weight = weights[i];
    s.endpoints.push_back(e);
  }
  return s;
}

std::vector<int> picks(LoadBalancer& lb, int n) {
  std::vector<int> out;
  for (int i = 0; i < n; ++i) out.push_back(lb.pick(PickContext{}));
  return out;
}

TEST(RoundRobin, VisitsEveryEndpointInTurnAndSkipsWeightZero) {
  RoundRobin rr;
  auto s = snapshotWithWeights({1, 0, 5, 1});
  rr.update(s);
  EXPECT_EQ(picks(rr, 6), (std::vector<int>{0, 2, 3, 0, 2, 3}));
}

TEST(RoundRobin, ExcludeTakesTheNextOne) {
  RoundRobin rr;
  auto s = snapshotWithWeights({1, 1, 1});
  rr.update(s);
  EXPECT_EQ(rr.pick(PickContext{}, 0), 1);
  EXPECT_EQ(rr.pick(PickContext{}, 2), 0);  // 2 was next; excluded, so 0
}

TEST(RoundRobin, EmptyOrAllZeroIsMinusOne) {
  RoundRobin rr;
  auto empty = snapshotWithWeights({});
  rr.update(empty);
  EXPECT_EQ(rr.pick(PickContext{}), -1);
  auto zeros = snapshotWithWeights({0, 0});
  rr.update(zeros);
  EXPECT_EQ(rr.pick(PickContext{}), -1);
}

TEST(WeightedRoundRobin, ExactProportionsOverACycle) {
  WeightedRoundRobin wrr;
  auto s = snapshotWithWeights({5, 1, 1, 3});
  wrr.update(s);
  std::map<int, int> count;
  for (int p : picks(wrr, 100)) ++count[p];
  EXPECT_EQ(count[0], 50);
  EXPECT_EQ(count[1], 10);
  EXPECT_EQ(count[2], 10);
  EXPECT_EQ(count[3], 30);
}

TEST(WeightedRoundRobin, SpreadsPicksInsteadOfBunchingThem) {
  WeightedRoundRobin wrr;
  auto s = snapshotWithWeights({3, 1});
  wrr.update(s);
  const auto seq = picks(wrr, 400);
  // Within any window of 8 picks, endpoint 1 (a quarter of the weight) appears 2 times, give or
  // take one: never a run that starves it or bursts it.
  for (size_t start = 0; start + 8 <= seq.size(); ++start) {
    int ones = 0;
    for (size_t i = start; i < start + 8; ++i) ones += seq[i] == 1;
    EXPECT_GE(ones, 1) << "at " << start;
    EXPECT_LE(ones, 3) << "at " << start;
  }
}

TEST(WeightedRoundRobin, WeightZeroGetsNothingAndExcludeIsHonoured) {
  WeightedRoundRobin wrr;
  auto s = snapshotWithWeights({1, 0, 1});
  wrr.update(s);
  for (int p : picks(wrr, 20)) EXPECT_NE(p, 1);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(wrr.pick(PickContext{}, 0), 2);
  auto zeros = snapshotWithWeights({0});
  wrr.update(zeros);
  EXPECT_EQ(wrr.pick(PickContext{}), -1);
}

TEST(WeightedRoundRobin, FractionalWeights) {
  WeightedRoundRobin wrr;
  auto s = snapshotWithWeights({0.5, 1.5});
  wrr.update(s);
  std::map<int, int> count;
  for (int p : picks(wrr, 400)) ++count[p];
  EXPECT_EQ(count[0], 100);
  EXPECT_EQ(count[1], 300);
}

TEST(LoadBalancerFactory, BuildsEveryKind) {
  Random random(1);
  ManualTimeSource time;
  using K = config::LoadBalancerKind;
  EXPECT_TRUE(dynamic_cast<RoundRobin*>(makeLoadBalancer(K::kRoundRobin, random, time).get()));
  EXPECT_TRUE(dynamic_cast<WeightedRoundRobin*>(
      makeLoadBalancer(K::kWeightedRoundRobin, random, time).get()));
  EXPECT_TRUE(dynamic_cast<LeastRequest*>(makeLoadBalancer(K::kLeastRequest, random, time).get()));
  EXPECT_TRUE(dynamic_cast<P2cEwma*>(makeLoadBalancer(K::kP2cEwma, random, time).get()));
  EXPECT_TRUE(dynamic_cast<RingHash*>(makeLoadBalancer(K::kRingHash, random, time).get()));
  EXPECT_TRUE(dynamic_cast<Maglev*>(makeLoadBalancer(K::kMaglev, random, time).get()));
}

TEST(EffectiveWeight, NegativeOrNotFiniteWeightsTakeNoTraffic) {
  auto s = snapshotWithWeights(
      {-1, std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity(), 1});
  RoundRobin rr;
  rr.update(s);
  EXPECT_EQ(picks(rr, 3), (std::vector<int>{3, 3, 3}));
  WeightedRoundRobin wrr;
  wrr.update(s);
  EXPECT_EQ(picks(wrr, 3), (std::vector<int>{3, 3, 3}));
}

}  // namespace
}  // namespace switchyard::routing
