// ClusterRuntime's deploy-safety decisions on one worker, driven with a manual clock: an instance
// announced before it listens is "starting" (short back-offs, never ejected) until its first
// connection, after which the usual outlier rules and the slow-start ramp apply.

#include "proxy/cluster_runtime.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>

namespace switchyard::proxy {
namespace {

using namespace std::chrono_literals;

std::shared_ptr<const routing::ClusterSnapshot> snapshotOf(
    std::shared_ptr<const config::Cluster> config, int instances) {
  auto s = std::make_shared<routing::ClusterSnapshot>();
  s->config = std::move(config);
  for (int i = 0; i < instances; ++i) {
    routing::Endpoint e;
    e.id = "127.0.0.1:" + std::to_string(31001 + i);
    e.address = {boost::asio::ip::make_address("127.0.0.1"), static_cast<uint16_t>(31001 + i)};
    s->endpoints.push_back(e);
  }
  return s;
}

class ClusterRuntimeTest : public ::testing::Test {
 protected:
  ClusterRuntimeTest() {
    auto c = std::make_shared<config::Cluster>();  // every default
    c->name = "web";
    config_ = c;
  }
  // Starts with `initial` instances, then the set grows to `total` (the new ones are "new").
  void start(int initial, int total) {
    runtime_ = std::make_unique<ClusterRuntime>(snapshotOf(config_, initial), random_, time_);
    if (total > initial) runtime_->update(snapshotOf(config_, total));
  }
  UpstreamHost& host(int i) {
    for (int n = 0; n < 10000; ++n) {
      auto h = runtime_->pick();
      if (h && h->endpoint().id == "127.0.0.1:" + std::to_string(31001 + i)) return *h;
    }
    ADD_FAILURE() << "instance " << i << " never picked";
    static UpstreamHost none(routing::Endpoint{}, 1);
    return none;
  }
  // How often each instance is picked in n picks.
  std::map<std::string, int> picks(int n) {
    std::map<std::string, int> out;
    for (int i = 0; i < n; ++i)
      if (auto h = runtime_->pick()) ++out[h->endpoint().id];
    return out;
  }
  void tick(std::chrono::milliseconds d) {
    // The worker's 50 ms tick.
    for (auto t = 0ms; t < d; t += 50ms) {
      time_.advance(50ms);
      runtime_->updateWeights(time_.now());
    }
  }

  std::shared_ptr<const config::Cluster> config_;
  Random random_{42};
  ManualTimeSource time_;
  std::unique_ptr<ClusterRuntime> runtime_;
};

TEST_F(ClusterRuntimeTest, ANewInstanceThatRefusesIsStartingNeverEjected) {
  start(3, 4);
  UpstreamHost& fresh = host(3);
  // Far more refusals than consecutive_failures (5), over several seconds: never an ejection.
  for (int i = 0; i < 20; ++i) {
    runtime_->recordFailure(fresh);
    EXPECT_FALSE(fresh.outlier.ejected) << "refusal " << i;
    EXPECT_TRUE(fresh.outlier.starting);
    EXPECT_EQ(picks(400).count("127.0.0.1:31004"), 0u) << "picked during its back-off";
    tick(OutlierDetector::kStartBackoffMax);
  }
  EXPECT_EQ(fresh.stats.ejections, 0u);
  EXPECT_EQ(fresh.stats.starting, 1);
}

TEST_F(ClusterRuntimeTest, AnInstanceStillRefusingAfterTheGraceIsJudgedAsAnyOther) {
  start(3, 4);
  UpstreamHost& fresh = host(3);
  runtime_->recordFailure(fresh);
  tick(std::chrono::duration_cast<std::chrono::milliseconds>(OutlierDetector::kStartGrace));
  for (uint32_t i = 0; i < config_->outlier_detection.consecutive_failures; ++i)
    runtime_->recordFailure(fresh);
  EXPECT_TRUE(fresh.outlier.ejected);
}

TEST_F(ClusterRuntimeTest, BackOffsDoubleFromAQuarterSecondToOneSecond) {
  start(3, 4);
  UpstreamHost& fresh = host(3);
  const std::chrono::milliseconds expected[] = {250ms, 500ms, 1000ms, 1000ms};
  for (auto backoff : expected) {
    runtime_->recordFailure(fresh);
    tick(backoff - 50ms);
    EXPECT_EQ(picks(400).count("127.0.0.1:31004"), 0u) << backoff.count();
    tick(50ms);
    EXPECT_GT(picks(400).count("127.0.0.1:31004"), 0u) << backoff.count();
  }
}

TEST_F(ClusterRuntimeTest, TheFirstConnectionEndsStartingAndTheUsualRulesApply) {
  start(3, 4);
  UpstreamHost& fresh = host(3);
  runtime_->recordFailure(fresh);
  tick(250ms);
  runtime_->recordConnected(fresh);
  EXPECT_FALSE(fresh.outlier.starting);
  EXPECT_EQ(fresh.stats.starting, 0);
  // Now it has answered once: consecutive failures eject it.
  for (uint32_t i = 0; i < config_->outlier_detection.consecutive_failures; ++i)
    runtime_->recordFailure(fresh);
  EXPECT_TRUE(fresh.outlier.ejected);
  EXPECT_EQ(fresh.stats.ejections, 1u);
}

TEST_F(ClusterRuntimeTest, AnInstanceThatHasAnsweredIsEjectedForRefusals) {
  start(4, 4);
  UpstreamHost& h = host(1);
  runtime_->recordConnected(h);
  for (uint32_t i = 0; i < config_->outlier_detection.consecutive_failures; ++i)
    runtime_->recordFailure(h);
  EXPECT_TRUE(h.outlier.ejected);
  EXPECT_EQ(picks(400).count("127.0.0.1:31002"), 0u);
}

TEST_F(ClusterRuntimeTest, SlowStartRampsFromTheFirstConnectionNotFromTheAnnouncement) {
  start(3, 4);
  UpstreamHost& fresh = host(3);
  // Announced long before it listens: its ramp has not begun.
  runtime_->recordFailure(fresh);
  tick(std::chrono::milliseconds(config_->slow_start_ms));
  EXPECT_TRUE(fresh.slow_starting);
  runtime_->recordConnected(fresh);
  // Just after its first connection it takes a small share (the ramp's floor, 10 %)...
  const int n = 4000;
  const int early = picks(n)["127.0.0.1:31004"];
  EXPECT_LT(early, n / 4 / 3);
  EXPECT_GT(early, 0);
  // ...and its full share once slow_start_ms has passed since then.
  tick(std::chrono::milliseconds(config_->slow_start_ms) + 250ms);
  EXPECT_FALSE(fresh.slow_starting);
  const int later = picks(n)["127.0.0.1:31004"];
  EXPECT_GT(later, n / 4 - n / 20);
}

TEST_F(ClusterRuntimeTest, InstancesStartingTogetherAreNotASlowStart) {
  start(4, 4);
  const int n = 4000;
  auto count = picks(n);
  for (const auto& [id, c] : count) EXPECT_GT(c, n / 4 - n / 20) << id;
}

TEST_F(ClusterRuntimeTest, EveryInstanceBackingOffIsAPanicThatRoutesToAll) {
  // A cluster whose instances all refuse before ever listening: routing to none helps nobody;
  // below the panic threshold every instance takes traffic again.
  start(2, 2);
  runtime_->recordFailure(host(0));
  runtime_->recordFailure(host(1));
  EXPECT_TRUE(runtime_->panicking());
  EXPECT_NE(runtime_->pick(), nullptr);
}

}  // namespace
}  // namespace switchyard::proxy
