#include "routing/p2c_ewma.h"

#include <gtest/gtest.h>

#include <queue>

#include "tests/unit/routing/lb_test_util.h"

namespace switchyard::routing {
namespace {

using namespace std::chrono_literals;
using testing::countPicks;
using testing::expectSharesFollowWeights;
using testing::LoadTable;
using testing::snapshotWithWeights;

TEST(P2cEwma, EqualEndpointsShareByWeight) {
  Random random(7);
  ManualTimeSource time;
  P2cEwma lb(random);
  const std::vector<double> weights = {1, 2, 3, 4};
  auto s = snapshotWithWeights(weights);
  lb.update(s);
  LoadTable load(4);
  expectSharesFollowWeights(countPicks(lb, load.context(), 100000), weights, 100000);
  for (auto& l : load.loads) observeLatency(l, 1000, time.now());  // same latency everywhere
  expectSharesFollowWeights(countPicks(lb, load.context(), 100000), weights, 100000);
  expectSharesFollowWeights(countPicks(lb, PickContext{}, 100000), weights, 100000);
}

TEST(P2cEwma, WeightZeroGetsNothingAndExcludeIsHonoured) {
  Random random(7);
  ManualTimeSource time;
  P2cEwma lb(random);
  auto s = snapshotWithWeights({1, 0, 1, 1});
  lb.update(s);
  LoadTable load(4);
  observeLatency(load.loads[0], 100, time.now());
  observeLatency(load.loads[2], 5000, time.now());
  observeLatency(load.loads[3], 5000, time.now());
  // Endpoint 1 is unsampled and idle (cost 0), but has weight 0; endpoint 0 is the fastest,
  // but excluded.
  auto count = countPicks(lb, load.context(), 10000, 0);
  EXPECT_EQ(count.count(0), 0u);
  EXPECT_EQ(count.count(1), 0u);
  EXPECT_EQ(count[2] + count[3], 10000);
  auto two = snapshotWithWeights({1, 1});
  lb.update(two);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(lb.pick(load.context(), 1), 0);
  auto zeros = snapshotWithWeights({0, 0});
  lb.update(zeros);
  EXPECT_EQ(lb.pick(load.context()), -1);
}

TEST(P2cEwma, CostIsLatencyTimesInFlightPerWeightPlusOne) {
  ManualTimeSource time;
  EndpointLoad l;
  EXPECT_EQ(P2cEwma::cost(l, 1, time.now()), 0);  // never sampled, idle: try it
  l.in_flight = 1;
  EXPECT_GT(P2cEwma::cost(l, 1, time.now()), 1e9);  // never sampled, busy: do not flood it
  observeLatency(l, 2000, time.now());
  l.in_flight = 3;
  EXPECT_DOUBLE_EQ(P2cEwma::cost(l, 1, time.now()), 2000 * 4);
  EXPECT_DOUBLE_EQ(P2cEwma::cost(l, 2, time.now()), 2000 * (3 / 2.0 + 1));
}

// pick() compares without reading the clock; it must agree with the costs read at any now.
TEST(P2cEwma, CheaperAgreesWithCostsAtAnyTime) {
  Random random(99);
  int compared = 0;
  for (int trial = 0; trial < 2000; ++trial) {
    EndpointLoad a, b;
    const auto at = std::chrono::milliseconds(random.below(100000));
    const auto bt = std::chrono::milliseconds(random.below(100000));
    if (random.below(8) != 0)
      observeLatency(a, static_cast<double>(random.below(50000)), TimePoint(at));
    if (random.below(8) != 0)
      observeLatency(b, static_cast<double>(random.below(50000)), TimePoint(bt));
    a.in_flight = static_cast<uint32_t>(random.below(4));
    b.in_flight = static_cast<uint32_t>(random.below(4));
    const double wa = 1 + static_cast<double>(random.below(3));
    const double wb = 1 + static_cast<double>(random.below(3));
    const TimePoint now =
        TimePoint(std::max(at, bt) + std::chrono::milliseconds(random.below(30000)));
    const double ca = P2cEwma::cost(a, wa, now), cb = P2cEwma::cost(b, wb, now);
    if (std::abs(ca - cb) <= 1e-9 * std::max(ca, cb)) continue;  // a tie within rounding
    ++compared;
    ASSERT_EQ(P2cEwma::cheaper(b, wb, a, wa), cb < ca)
        << "trial " << trial << ": " << cb << " vs " << ca;
  }
  EXPECT_GT(compared, 1500);
}

TEST(P2cEwma, UnsampledEndpointIsTriedButNotFlooded) {
  Random random(9);
  ManualTimeSource time;
  P2cEwma lb(random);
  auto s = snapshotWithWeights({1, 1, 1, 1});
  lb.update(s);
  LoadTable load(4);
  for (int i = 0; i < 3; ++i) observeLatency(load.loads[static_cast<size_t>(i)], 500, time.now());
  // Endpoint 3 (new) wins every comparison it is in while idle...
  auto idle = countPicks(lb, load.context(), 10000);
  EXPECT_NEAR(idle[3], 5000, 5 * std::sqrt(10000 * 0.25));
  // ...and loses every one once it holds a request with no answer yet.
  load.loads[3].in_flight = 1;
  EXPECT_EQ(countPicks(lb, load.context(), 10000).count(3), 0u);
}

// A discrete-event simulation on a fake clock: a request every 250 us, three endpoints answer in
// 1 ms and one in 10 ms. Round robin would give the slow one a quarter of the traffic.
TEST(P2cEwma, SendsMostTrafficAwayFromAnEndpointTenTimesSlower) {
  Random random(13);
  ManualTimeSource time;
  P2cEwma lb(random);
  auto s = snapshotWithWeights({1, 1, 1, 1});
  lb.update(s);
  LoadTable load(4);
  const std::chrono::microseconds latency[4] = {1000us, 1000us, 1000us, 10000us};
  using Done = std::pair<TimePoint, int>;
  std::priority_queue<Done, std::vector<Done>, std::greater<>> pending;
  std::map<int, int> count;
  const int requests = 20000;
  for (int r = 0; r < requests; ++r) {
    time.advance(250us);
    while (!pending.empty() && pending.top().first <= time.now()) {
      auto& l = load.loads[static_cast<size_t>(pending.top().second)];
      --l.in_flight;
      observeLatency(l, static_cast<double>(latency[pending.top().second].count()),
                     pending.top().first);
      pending.pop();
    }
    const int e = lb.pick(load.context());
    ++count[e];
    ++load.loads[static_cast<size_t>(e)].in_flight;
    pending.emplace(time.now() + latency[e], e);
  }
  EXPECT_GT(count[3], 0);  // it was tried
  EXPECT_LT(count[3], requests / 20) << "the slow endpoint got " << count[3];
}

// The same simulation with the machine stalling: every 500 ms nothing is answered for 30 ms
// (a busy core, a stalled worker), so the answers in flight then, all from the endpoints in use,
// arrive late together. The slow endpoint, avoided, is never in flight during a stall: an
// estimator that believed each late answer at once (Finagle's pure peak, 10 s decay) made the
// fast endpoints look as slow as it for seconds and gave it over 10% of the traffic.
TEST(P2cEwma, StallsOfTheWholeMachineDoNotSendTrafficBackToTheSlowEndpoint) {
  Random random(29);
  ManualTimeSource time;
  P2cEwma lb(random);
  auto s = snapshotWithWeights({1, 1, 1, 1});
  lb.update(s);
  LoadTable load(4);
  const std::chrono::microseconds latency[4] = {2000us, 2000us, 2000us, 20000us};
  using Done = std::pair<TimePoint, int>;
  std::priority_queue<Done, std::vector<Done>, std::greater<>> pending;
  std::map<int, int> count;
  const int requests = 40000;  // 20 s at one request every 500 us
  const TimePoint start = time.now();
  for (int r = 0; r < requests; ++r) {
    time.advance(500us);
    const auto into_period = (time.now() - start) % 500ms;
    if (into_period < 30ms) continue;  // stalled: nothing is answered, nothing is sent
    while (!pending.empty() && pending.top().first <= time.now()) {
      auto& l = load.loads[static_cast<size_t>(pending.top().second)];
      --l.in_flight;
      // Seen when the stall let it be read, and timed then.
      observeLatency(
          l,
          std::chrono::duration<double, std::micro>(time.now() - pending.top().first).count() +
              static_cast<double>(latency[pending.top().second].count()),
          time.now());
      pending.pop();
    }
    const int e = lb.pick(load.context());
    ++count[e];
    ++load.loads[static_cast<size_t>(e)].in_flight;
    pending.emplace(time.now() + latency[e], e);
  }
  int sent = 0;
  for (auto& [e, n] : count) sent += n;
  EXPECT_GT(count[3], 0);  // it was tried
  EXPECT_LT(count[3], sent / 100) << "the slow endpoint got " << count[3] << " of " << sent;
}

TEST(P2cEwma, AnEndpointSlowLongAgoIsTriedAgain) {
  Random random(21);
  ManualTimeSource time;
  P2cEwma lb(random);
  auto s = snapshotWithWeights({1, 1});
  lb.update(s);
  LoadTable load(2);
  observeLatency(load.loads[0], 1000, time.now());
  observeLatency(load.loads[1], 50000, time.now());
  EXPECT_EQ(countPicks(lb, load.context(), 100)[0], 100);
  // A minute later, endpoint 1's estimate has decayed (50 ms * e^-6 = 124 us) below endpoint 0's
  // last fresh sample.
  time.advance(60s);
  observeLatency(load.loads[0], 1000, time.now());
  EXPECT_EQ(countPicks(lb, load.context(), 100)[1], 100);
}

}  // namespace
}  // namespace switchyard::routing
