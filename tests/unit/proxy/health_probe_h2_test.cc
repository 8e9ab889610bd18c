// HealthProbeH2 against a real nghttp2 backend (tests/support/h2_backend) on loopback: the GET
// as an HTTP/2 stream, the status as the verdict, one connection kept across probes and
// reopened after a GOAWAY or a timeout, failures (refused, timed out, TLS) said in words, and no
// callback after cancel() or destruction.

#include "proxy/health_probe_h2.h"

#include <gtest/gtest.h>

#include <atomic>
#include <optional>

#include "proxy/tls_client_context.h"
#include "tests/support/free_port.h"
#include "tests/support/h2_backend.h"
#include "tests/support/test_ca.h"
#include "tests/support/tls_test_backend.h"
#include "tests/unit/discovery/run_until.h"
#include "tests/unit/proxy/probe_target_util.h"

namespace switchyard::proxy {
namespace {

using namespace std::chrono_literals;
using discovery::HealthOutcome;
using support::H2Backend;
using support::H2BackendBehavior;
using switchyard::testing::loopbackTarget;
using switchyard::testing::runUntil;

class HealthProbeH2Test : public ::testing::Test {
 protected:
  HealthProbeH2Test() {
    backend_.setHandler([this](const support::H2BackendRequest& r) {
      auto b = H2BackendBehavior::fixed(r.path == "/health" ? status_.load() : 404, "ok\n");
      b.delay = delay_.load();
      return b;
    });
  }

  // One probe run to its outcome (nullopt: no callback within the bound, a failure).
  std::optional<HealthOutcome> probe(const ProbeTarget& t, std::chrono::milliseconds timeout) {
    std::optional<HealthOutcome> outcome;
    probe_.get(t, timeout, [&](HealthOutcome o) { outcome = std::move(o); });
    if (!runUntil(io_, [&] { return outcome.has_value(); })) return std::nullopt;
    return outcome;
  }

  boost::asio::io_context io_;
  H2Backend backend_{"h2"};
  std::atomic<int> status_{200};
  std::atomic<std::chrono::milliseconds> delay_{0ms};
  HealthProbeH2 probe_{io_};
};

TEST_F(HealthProbeH2Test, AnswersWithTheStatusOnOneKeptConnection) {
  for (int i = 0; i < 3; ++i) {
    auto outcome = probe(loopbackTarget(backend_.port()), 2s);
    ASSERT_TRUE(outcome);
    EXPECT_EQ(outcome->status, 200) << outcome->str();
    EXPECT_TRUE(outcome->healthy());
  }
  EXPECT_EQ(backend_.connectionCount(), 1u);
  EXPECT_EQ(probe_.connectionsOpened(), 1u);
  // Each probe read its answer to the end: no stream was reset.
  EXPECT_EQ(backend_.resetsReceived(), 0u);
  ASSERT_TRUE(backend_.waitForRequests(3, 2s));
  const auto r = backend_.requests().front();
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.scheme, "http");
  EXPECT_EQ(r.authority, "127.0.0.1:" + std::to_string(backend_.port()));
  EXPECT_EQ(r.path, "/health");
  EXPECT_EQ(r.header("user-agent"), "switchyard-health");
}

TEST_F(HealthProbeH2Test, AnAnswerOtherThan2xxIsUnhealthyAndKeepsTheConnection) {
  status_ = 503;
  auto outcome = probe(loopbackTarget(backend_.port()), 2s);
  ASSERT_TRUE(outcome);
  EXPECT_EQ(outcome->status, 503);
  EXPECT_FALSE(outcome->healthy());
  status_ = 202;
  outcome = probe(loopbackTarget(backend_.port()), 2s);
  ASSERT_TRUE(outcome);
  EXPECT_TRUE(outcome->healthy()) << outcome->str();
  EXPECT_EQ(backend_.connectionCount(), 1u);
}

TEST(HealthProbeH2GoawayTest, AConnectionEndedByGoawayIsReopenedForTheNextProbe) {
  support::H2BackendOptions options;
  options.goaway_after = 1;  // every connection serves one stream, then GOAWAY
  H2Backend backend("h2", options);
  boost::asio::io_context io;
  HealthProbeH2 probe(io);
  for (int i = 0; i < 3; ++i) {
    std::optional<HealthOutcome> outcome;
    probe.get(loopbackTarget(backend.port()), 2s, [&](HealthOutcome o) { outcome = std::move(o); });
    ASSERT_TRUE(runUntil(io, [&] { return outcome.has_value(); }));
    EXPECT_EQ(outcome->status, 200) << outcome->str();
  }
  EXPECT_EQ(backend.connectionCount(), 3u);
  EXPECT_EQ(probe.connectionsOpened(), 3u);
}

TEST_F(HealthProbeH2Test, ATimeoutFailsWithinItsDeadlineAndTheNextProbeReconnects) {
  delay_ = 3000ms;
  const auto start = std::chrono::steady_clock::now();
  auto outcome = probe(loopbackTarget(backend_.port()), 200ms);
  ASSERT_TRUE(outcome);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  EXPECT_FALSE(outcome->answered());
  EXPECT_EQ(outcome->error, "timed out after 200 ms");
  // The connection that timed out may be hung: the next probe opens another.
  delay_ = 0ms;
  outcome = probe(loopbackTarget(backend_.port()), 2s);
  ASSERT_TRUE(outcome);
  EXPECT_EQ(outcome->status, 200) << outcome->str();
  EXPECT_EQ(probe_.connectionsOpened(), 2u);
  EXPECT_EQ(backend_.connectionCount(), 2u);
}

TEST_F(HealthProbeH2Test, ARefusedConnectionIsAFailureSaidInWords) {
  auto outcome = probe(loopbackTarget(support::freeLoopbackPort()), 2s);
  ASSERT_TRUE(outcome);
  EXPECT_FALSE(outcome->answered());
  EXPECT_NE(outcome->error.find("connect"), std::string::npos) << outcome->error;
}

TEST_F(HealthProbeH2Test, AnUnusableTargetFailsWithItsReason) {
  auto t = loopbackTarget(backend_.port());
  t.unusable = "tls: ca /nowhere: cannot read it";
  auto outcome = probe(t, 2s);
  ASSERT_TRUE(outcome);
  EXPECT_EQ(outcome->error, t.unusable);
  EXPECT_EQ(backend_.connectionCount(), 0u);
}

TEST_F(HealthProbeH2Test, CancelledOrDestroyedProbesNeverCallBack) {
  delay_ = 300ms;
  bool first_called = false;
  probe_.get(loopbackTarget(backend_.port()), 2s, [&](HealthOutcome) { first_called = true; });
  ASSERT_TRUE(runUntil(io_, [&] { return backend_.streamCount() == 1; }));
  probe_.cancel();
  {
    HealthProbeH2 doomed(io_);
    doomed.get(loopbackTarget(backend_.port()), 2s, [&](HealthOutcome) { first_called = true; });
  }
  // A later probe on the same loop completes; the cancelled and destroyed ones stay silent.
  delay_ = 0ms;
  auto outcome = probe(loopbackTarget(backend_.port()), 2s);
  ASSERT_TRUE(outcome);
  EXPECT_EQ(outcome->status, 200) << outcome->str();
  EXPECT_FALSE(first_called);
}

// protocol h2: TLS with ALPN h2. The C++ TLS test backend speaks HTTP/1.1 only, which is enough
// to prove the TLS path fails the probe with the reason (h2 over TLS to nginx is in the
// integration test).
TEST(HealthProbeH2TlsTest, TlsFailuresAreFailedProbesWithTheReason) {
  support::TestCa ca;
  support::TestCa other("Another CA");
  support::TlsTestBackend backend("tls", other.issue(7));
  config::UpstreamTls settings;
  settings.ca = ca.caCertificate();
  auto verified = TlsClientContext::create(settings, {"h2"});
  ASSERT_TRUE(verified) << verified.error().message;
  settings.verify = false;
  auto unverified = TlsClientContext::create(settings, {"h2"});
  ASSERT_TRUE(unverified) << unverified.error().message;

  boost::asio::io_context io;
  HealthProbeH2 probe(io);
  std::optional<HealthOutcome> outcome;
  probe.get(loopbackTarget(backend.port(), verified.value()), 2s,
            [&](HealthOutcome o) { outcome = std::move(o); });
  ASSERT_TRUE(runUntil(io, [&] { return outcome.has_value(); }));
  EXPECT_FALSE(outcome->answered());
  EXPECT_NE(outcome->error.find("certificate verification failed"), std::string::npos)
      << outcome->error;

  // Verification off: the handshake passes, but the instance does not speak h2.
  outcome.reset();
  probe.get(loopbackTarget(backend.port(), unverified.value()), 2s,
            [&](HealthOutcome o) { outcome = std::move(o); });
  ASSERT_TRUE(runUntil(io, [&] { return outcome.has_value(); }));
  EXPECT_FALSE(outcome->answered());
  EXPECT_NE(outcome->error.find("ALPN"), std::string::npos) << outcome->error;
  EXPECT_EQ(backend.requests(), 0u);
}

}  // namespace
}  // namespace switchyard::proxy
