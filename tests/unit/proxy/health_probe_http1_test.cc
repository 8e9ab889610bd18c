// HealthProbeHttp1 on loopback: the GET in cleartext (TestBackend) and over TLS (TlsTestBackend,
// certificates from a TestCa) with the cluster's CA, SNI and verification; a certificate from
// another CA is a failed probe that says why, verify: false lets it pass; a peer that never
// answers the handshake times out.

#include "proxy/health_probe_http1.h"

#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <optional>

#include "proxy/tls_client_context.h"
#include "tests/support/test_backend.h"
#include "tests/support/test_ca.h"
#include "tests/support/tls_test_backend.h"
#include "tests/unit/discovery/run_until.h"
#include "tests/unit/proxy/probe_target_util.h"

namespace switchyard::proxy {
namespace {

using namespace std::chrono_literals;
using discovery::HealthOutcome;
using switchyard::testing::loopbackTarget;
using switchyard::testing::runUntil;

class HealthProbeHttp1Test : public ::testing::Test {
 protected:
  std::shared_ptr<const TlsClientContext> context(const support::TestCa& ca,
                                                  std::string server_name = {},
                                                  bool verify = true) {
    config::UpstreamTls settings;
    settings.ca = ca.caCertificate();
    settings.server_name = std::move(server_name);
    settings.verify = verify;
    auto created = TlsClientContext::create(settings, {"http/1.1"});
    EXPECT_TRUE(created) << created.error().message;
    return created ? created.value() : nullptr;
  }

  std::optional<HealthOutcome> probe(const ProbeTarget& t, std::chrono::milliseconds timeout = 2s) {
    std::optional<HealthOutcome> outcome;
    probe_.get(t, timeout, [&](HealthOutcome o) { outcome = std::move(o); });
    if (!runUntil(io_, [&] { return outcome.has_value(); })) return std::nullopt;
    return outcome;
  }

  boost::asio::io_context io_;
  HealthProbeHttp1 probe_{io_};
  support::TestCa ca_;
};

TEST_F(HealthProbeHttp1Test, CleartextGetOnAFreshConnectionEachTime) {
  support::TestBackend backend("plain");
  backend.setBehavior(support::BackendBehavior::fixed(200));
  for (int i = 0; i < 2; ++i) {
    auto outcome = probe(loopbackTarget(backend.port(), nullptr));
    ASSERT_TRUE(outcome);
    EXPECT_EQ(outcome->status, 200) << outcome->str();
  }
  EXPECT_EQ(backend.connectionCount(), 2u);
  EXPECT_EQ(probe_.connectionsOpened(), 2u);
  const auto r = backend.requests().front();
  EXPECT_EQ(r.target, "/health");
  EXPECT_EQ(r.header("host"), "127.0.0.1:" + std::to_string(backend.port()));
  EXPECT_EQ(r.header("connection"), "close");
}

TEST_F(HealthProbeHttp1Test, VerifiedTlsGetWithTheStatusOfThePath) {
  support::TlsTestBackend backend("tls", ca_.issue(11));
  auto outcome = probe(loopbackTarget(backend.port(), context(ca_)));
  ASSERT_TRUE(outcome);
  EXPECT_EQ(outcome->status, 200) << outcome->str();
  EXPECT_EQ(backend.requestsFor("/health"), 1u);
  EXPECT_EQ(backend.lastServerName(), "");  // an IP address: verified against IP SANs, no SNI

  backend.setStatus("/health", 503);
  outcome = probe(loopbackTarget(backend.port(), context(ca_)));
  ASSERT_TRUE(outcome);
  EXPECT_EQ(outcome->status, 503);
  EXPECT_FALSE(outcome->healthy());
}

TEST_F(HealthProbeHttp1Test, ServerNameIsSniAndHost) {
  support::TlsTestBackend backend("tls", ca_.issue(12));
  auto outcome = probe(loopbackTarget(backend.port(), context(ca_, "localhost")));
  ASSERT_TRUE(outcome);
  EXPECT_EQ(outcome->status, 200) << outcome->str();
  EXPECT_EQ(backend.lastServerName(), "localhost");
  EXPECT_NE(backend.lastRequestHead().find("Host: localhost\r\n"), std::string::npos)
      << backend.lastRequestHead();
}

TEST_F(HealthProbeHttp1Test, ACertificateFromAnotherCaFailsUnlessVerificationIsOff) {
  support::TestCa other("Another CA");
  support::TlsTestBackend backend("impostor", other.issue(13));
  auto outcome = probe(loopbackTarget(backend.port(), context(ca_)));
  ASSERT_TRUE(outcome);
  EXPECT_FALSE(outcome->answered());
  EXPECT_EQ(outcome->error.rfind("TLS handshake: certificate verification failed: ", 0), 0u)
      << outcome->error;
  EXPECT_EQ(backend.requests(), 0u);

  outcome = probe(loopbackTarget(backend.port(), context(ca_, {}, /*verify=*/false)));
  ASSERT_TRUE(outcome);
  EXPECT_EQ(outcome->status, 200) << outcome->str();
}

TEST_F(HealthProbeHttp1Test, APeerThatNeverHandshakesTimesOut) {
  // Accepts and then says nothing: the TLS handshake waits for a ServerHello that never comes.
  boost::asio::ip::tcp::acceptor silent(io_, {boost::asio::ip::make_address("127.0.0.1"), 0});
  boost::asio::ip::tcp::socket accepted(io_);
  silent.async_accept(accepted, [](boost::system::error_code) {});
  const auto start = std::chrono::steady_clock::now();
  auto outcome = probe(loopbackTarget(silent.local_endpoint().port(), context(ca_)), 200ms);
  ASSERT_TRUE(outcome);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  EXPECT_EQ(outcome->error, "timed out after 200 ms");
}

}  // namespace
}  // namespace switchyard::proxy
