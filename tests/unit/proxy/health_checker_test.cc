// HealthChecker on a real io_context against real backends: verdicts follow the answers with
// the configured hysteresis, reach the snapshot through decorate(), and cost nothing (the same
// snapshot pointer) while every endpoint is healthy.
#include "proxy/health_checker.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <fstream>
#include <functional>
#include <iterator>

#include "tests/support/free_port.h"
#include "tests/support/h2_backend.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_backend.h"
#include "tests/support/test_ca.h"
#include "tests/support/tls_test_backend.h"

namespace switchyard::proxy {
namespace {

using namespace std::chrono_literals;
using support::BackendBehavior;
using support::TestBackend;

routing::Endpoint endpointAt(uint16_t port) {
  routing::Endpoint ep;
  ep.id = "127.0.0.1:" + std::to_string(port);
  ep.address = {boost::asio::ip::make_address("127.0.0.1"), port};
  return ep;
}

class HealthCheckerTest : public ::testing::Test {
 protected:
  HealthCheckerTest() {
    auto cluster = std::make_shared<config::Cluster>();
    cluster->name = "app";
    config::HealthCheck check;
    check.path = "/health";
    check.interval_ms = 20;
    check.timeout_ms = 500;
    check.unhealthy_after = 2;
    check.healthy_after = 3;
    cluster->health_check = check;
    cluster_config_ = cluster;
    good_.setBehavior(BackendBehavior::fixed(200));
    flaky_.setHandler([this](const support::BackendRequest&) {
      return BackendBehavior::fixed(flaky_status_.load());
    });
  }

  std::shared_ptr<const routing::RoutingSnapshot> snapshotOf(std::vector<uint16_t> ports) {
    return snapshotOf(cluster_config_, std::move(ports));
  }
  static std::shared_ptr<const routing::RoutingSnapshot> snapshotOf(
      std::shared_ptr<const config::Cluster> config, std::vector<uint16_t> ports) {
    auto cs = std::make_shared<routing::ClusterSnapshot>();
    cs->config = std::move(config);
    for (auto p : ports) cs->endpoints.push_back(endpointAt(p));
    auto s = std::make_shared<routing::RoutingSnapshot>();
    s->clusters.push_back(std::move(cs));
    return s;
  }

  // Runs the control loop until `pred` holds (bounded: a failure limit, not the expected wait).
  template <class Pred>
  bool runUntil(Pred pred, std::chrono::milliseconds bound = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + bound;
    while (!pred()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      io_.run_for(10ms);
      if (io_.stopped()) io_.restart();
    }
    return true;
  }

  static bool healthyIn(const routing::RoutingSnapshot& s, uint16_t port) {
    for (const auto& ep : s.clusters[0]->endpoints)
      if (ep.address.port() == port) return ep.healthy;
    ADD_FAILURE() << "no endpoint on port " << port;
    return false;
  }

  boost::asio::io_context io_;
  std::shared_ptr<const config::Cluster> cluster_config_;
  TestBackend good_{"good"};
  TestBackend flaky_{"flaky"};
  std::atomic<int> flaky_status_{200};
  int changes_ = 0;
  HealthChecker checker_{io_, [this] { ++changes_; }};
};

TEST_F(HealthCheckerTest, AllHealthyCostsNoCopy) {
  auto s = snapshotOf({good_.port(), flaky_.port()});
  EXPECT_EQ(checker_.decorate(s).get(), s.get());
  // Probes run and pass: still the same snapshot, and no change was announced.
  ASSERT_TRUE(runUntil([&] { return good_.requestCount() >= 3 && flaky_.requestCount() >= 3; }));
  EXPECT_EQ(checker_.decorate(s).get(), s.get());
  EXPECT_EQ(changes_, 0);
  EXPECT_EQ(good_.requests().front().target, "/health");
}

TEST_F(HealthCheckerTest, FailingEndpointTurnsUnhealthyAndBackWithHysteresis) {
  flaky_status_ = 503;
  auto s = snapshotOf({good_.port(), flaky_.port()});
  checker_.decorate(s);
  ASSERT_TRUE(runUntil([&] { return checker_.unhealthyCount("app") == 1; }));
  // Not before unhealthy_after failures in a row.
  EXPECT_GE(flaky_.requestCount(), 2u);
  EXPECT_EQ(changes_, 1);

  auto d = checker_.decorate(s);
  ASSERT_NE(d.get(), s.get());
  EXPECT_TRUE(healthyIn(*d, good_.port()));
  EXPECT_FALSE(healthyIn(*d, flaky_.port()));
  // The source snapshot is never modified, and the decorated copy is reused while nothing changes.
  EXPECT_TRUE(healthyIn(*s, flaky_.port()));
  EXPECT_EQ(checker_.decorate(s)->clusters[0].get(), d->clusters[0].get());

  // Healthy again only after healthy_after successes in a row.
  flaky_status_ = 200;
  const auto before = flaky_.requestCount();
  ASSERT_TRUE(runUntil([&] { return checker_.unhealthyCount("app") == 0; }));
  EXPECT_GE(flaky_.requestCount() - before, 3u);
  EXPECT_EQ(changes_, 2);
  EXPECT_EQ(checker_.decorate(s).get(), s.get());
}

TEST_F(HealthCheckerTest, RefusedConnectionCountsAsFailure) {
  const uint16_t closed = support::freeLoopbackPort();
  auto s = snapshotOf({good_.port(), closed});
  checker_.decorate(s);
  ASSERT_TRUE(runUntil([&] { return checker_.unhealthyCount("app") == 1; }));
  EXPECT_FALSE(healthyIn(*checker_.decorate(s), closed));
  EXPECT_TRUE(healthyIn(*checker_.decorate(s), good_.port()));
}

TEST_F(HealthCheckerTest, DepartedEndpointIsForgotten) {
  flaky_status_ = 500;
  checker_.decorate(snapshotOf({good_.port(), flaky_.port()}));
  ASSERT_TRUE(runUntil([&] { return checker_.unhealthyCount("app") == 1; }));
  // The flaky instance leaves the set: its verdict goes with it and probing it stops.
  auto without = snapshotOf({good_.port()});
  EXPECT_EQ(checker_.decorate(without).get(), without.get());
  EXPECT_EQ(checker_.unhealthyCount("app"), 0u);
  const auto probes = flaky_.requestCount();
  const auto good_before = good_.requestCount();
  ASSERT_TRUE(runUntil([&] { return good_.requestCount() >= good_before + 5; }));
  EXPECT_LE(flaky_.requestCount(), probes + 1);  // at most the probe already in flight
}

// The cluster's configuration with `change` applied (a reload gives a new configuration object).
std::shared_ptr<const config::Cluster> changed(
    const std::shared_ptr<const config::Cluster>& base,
    const std::function<void(config::Cluster&)>& change) {
  auto next = std::make_shared<config::Cluster>(*base);
  change(*next);
  return next;
}

TEST_F(HealthCheckerTest, AnH2cClusterIsProbedOverHttp2OnAKeptConnection) {
  support::H2Backend ok("ok"), sick("sick");
  sick.setHandler([](const support::H2BackendRequest& r) {
    return support::H2BackendBehavior::fixed(r.path == "/health" ? 503 : 200);
  });
  auto h2c = changed(cluster_config_,
                     [](config::Cluster& c) { c.protocol = config::UpstreamProtocol::kH2c; });
  auto s = snapshotOf(h2c, {ok.port(), sick.port()});
  checker_.decorate(s);
  ASSERT_TRUE(runUntil([&] { return checker_.unhealthyCount("app") == 1; }));
  EXPECT_FALSE(healthyIn(*checker_.decorate(s), sick.port()));
  ASSERT_TRUE(runUntil([&] { return ok.streamCount() >= 5; }));
  EXPECT_TRUE(healthyIn(*checker_.decorate(s), ok.port()));
  // Five probes or more, one connection.
  EXPECT_EQ(ok.connectionCount(), 1u);
}

TEST_F(HealthCheckerTest, AProtocolChangeStartsTheChecksOverInTheNewProtocol) {
  // Cleartext HTTP/1.1 to an HTTP/2-only instance fails: unhealthy.
  support::H2Backend h2("h2");
  checker_.decorate(snapshotOf({h2.port()}));
  ASSERT_TRUE(runUntil([&] { return checker_.unhealthyCount("app") == 1; }));
  // Reloaded as h2c: the verdict starts over (healthy until proven otherwise) and holds, since
  // the probes now speak HTTP/2.
  auto h2c = changed(cluster_config_,
                     [](config::Cluster& c) { c.protocol = config::UpstreamProtocol::kH2c; });
  auto s = snapshotOf(h2c, {h2.port()});
  EXPECT_EQ(checker_.decorate(s).get(), s.get());
  EXPECT_EQ(checker_.unhealthyCount("app"), 0u);
  const auto streams = h2.streamCount();
  ASSERT_TRUE(runUntil([&] { return h2.streamCount() >= streams + 3; }));
  EXPECT_EQ(checker_.unhealthyCount("app"), 0u);
}

TEST_F(HealthCheckerTest, WithoutATlsContextEveryProbeFailsWithTheReason) {
  // The CA file cannot be read: no TLS context, so nothing can reach the instances.
  auto broken = changed(cluster_config_, [](config::Cluster& c) {
    c.tls = config::UpstreamTls{};
    c.tls->ca = "/nonexistent/switchyard-test-ca.pem";
  });
  checker_.decorate(snapshotOf(broken, {good_.port(), flaky_.port()}));
  ASSERT_TRUE(runUntil([&] { return checker_.unhealthyCount("app") == 2; }));
  EXPECT_EQ(good_.connectionCount(), 0u);
}

TEST_F(HealthCheckerTest, AReloadRebuildsTheTlsContextAndKeepsTheLastGoodOne) {
  support::TestCa ca;
  support::TlsTestBackend tls_backend("tls", ca.issue(21));
  support::TempDir dir;
  std::ifstream in(ca.caCertificate());
  const std::string ca_file =
      dir.writeFile("ca.pem", std::string(std::istreambuf_iterator<char>(in), {}));
  auto with_tls = [&] {
    return changed(cluster_config_, [&](config::Cluster& c) {
      c.tls = config::UpstreamTls{};
      c.tls->ca = ca_file;
    });
  };
  checker_.decorate(snapshotOf(with_tls(), {tls_backend.port()}));
  ASSERT_TRUE(runUntil([&] { return tls_backend.requestsFor("/health") >= 2; }));
  EXPECT_EQ(checker_.unhealthyCount("app"), 0u);
  // The CA file goes bad and the configuration is reloaded with the same settings: the context
  // that works is kept, and the probes keep passing.
  dir.writeFile("ca.pem", "not a certificate");
  checker_.decorate(snapshotOf(with_tls(), {tls_backend.port()}));
  const auto probes = tls_backend.requestsFor("/health");
  ASSERT_TRUE(runUntil([&] { return tls_backend.requestsFor("/health") >= probes + 3; }));
  EXPECT_EQ(checker_.unhealthyCount("app"), 0u);
  EXPECT_EQ(changes_, 0);
}

}  // namespace
}  // namespace switchyard::proxy
