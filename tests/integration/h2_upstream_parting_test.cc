// How upstream HTTP/2 connections end and how a dead one is found, against the real nghttp2
// backend of tests/support/h2_backend: GOAWAY(NO_ERROR) at the gateway's SIGTERM (after the
// stream in flight is answered) and at the cluster's idle timeout; keepalive PINGs (a cluster's
// http2 section) that find a frozen instance and let its request be retried elsewhere, and that
// keep a quiet connection to a live instance open.

#include <gtest/gtest.h>
#include <signal.h>

#include <future>
#include <string>
#include <vector>

#include "tests/integration/h2c_cluster_config.h"
#include "tests/support/eventually.h"
#include "tests/support/gateway.h"
#include "tests/support/h2_backend.h"
#include "tests/support/http_client.h"
#include "tests/support/tcp_client.h"

namespace switchyard::support {
namespace {

using namespace std::chrono_literals;

// The h2c cluster configuration shared with the other upstream HTTP/2 tests.
constexpr const char* kConfig = kH2cClusterConfig;

std::string gatewayLog(Gateway& gateway) {
  return gateway.process().stdoutText() + gateway.process().stderrText();
}

TEST(H2UpstreamPartingTest, SigtermAnswersTheStreamInFlightThenSendsGoawayUpstreamAndExitsZero) {
  H2Backend backend("h2");
  H2BackendBehavior slow = H2BackendBehavior::fixed();
  slow.delay = 1000ms;
  backend.setBehavior(slow);
  Gateway gateway;
  ASSERT_TRUE(gateway.start(
      kConfig, {{"BACKENDS", Gateway::addressList({backend.address()})}, {"EXTRA", ""}}));
  auto in_flight = std::async(
      std::launch::async, [port = gateway.port()] { return HttpClient::get(port, "/", {}, 10s); });
  ASSERT_TRUE(eventually([&] { return backend.streamCount() >= 1; }, 5s));
  gateway.process().sendSignal(SIGTERM);
  HttpResponse r = in_flight.get();
  EXPECT_EQ(r.status, 200) << r.describe();
  EXPECT_EQ(r.body, "hello from h2");
  EXPECT_EQ(gateway.process().waitExit(10s), 0);
  // The connection parted politely: one GOAWAY with NO_ERROR, then the close.
  EXPECT_TRUE(eventually([&] { return backend.openConnections() == 0; }, 5s));
  EXPECT_EQ(backend.goawaysReceived(), std::vector<uint32_t>{0});
  EXPECT_EQ(backend.resetsReceived(), 0u);
}

TEST(H2UpstreamPartingTest, PastTheDrainDeadlineTheStreamIsCutThenGoawayGoesUpstream) {
  H2Backend backend("h2");
  H2BackendBehavior never = H2BackendBehavior::fixed();
  never.delay = 30s;
  backend.setBehavior(never);
  Gateway gateway;
  ASSERT_TRUE(gateway.start(kConfig, {{"BACKENDS", Gateway::addressList({backend.address()})},
                                      {"EXTRA", "    drain_timeout_ms: 500"}}));
  // A raw client: the gateway closes this connection without an answer at the deadline.
  TcpClient client;
  ASSERT_TRUE(client.connect(gateway.port()));
  ASSERT_TRUE(client.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(eventually([&] { return backend.streamCount() >= 1; }, 5s));
  const auto signalled = std::chrono::steady_clock::now();
  gateway.process().sendSignal(SIGTERM);
  EXPECT_EQ(gateway.process().waitExit(10s), 0);
  EXPECT_LT(std::chrono::steady_clock::now() - signalled, 5s);
  std::string got;
  EXPECT_TRUE(client.waitClosed(5s, &got));
  EXPECT_EQ(got.find("200 OK"), std::string::npos) << got;
  // The stream was cancelled (RST_STREAM), then the connection parted with GOAWAY(NO_ERROR).
  EXPECT_TRUE(eventually([&] { return backend.openConnections() == 0; }, 5s));
  EXPECT_EQ(backend.resetsReceived(), 1u);
  EXPECT_EQ(backend.goawaysReceived(), std::vector<uint32_t>{0});
}

TEST(H2UpstreamPartingTest, AnIdleUpstreamConnectionPartsWithGoawayAfterTheIdleTimeout) {
  H2Backend backend("h2");
  Gateway gateway;
  ASSERT_TRUE(gateway.start(kConfig, {{"BACKENDS", Gateway::addressList({backend.address()})},
                                      {"EXTRA", "    idle_timeout_ms: 300"}}));
  ASSERT_EQ(HttpClient::get(gateway.port(), "/", {}, 5s).status, 200);
  EXPECT_EQ(backend.openConnections(), 1u);
  // The worker's upkeep runs once a second: within about 1.3 s.
  EXPECT_TRUE(eventually([&] { return backend.openConnections() == 0; }, 5s));
  EXPECT_EQ(backend.goawaysReceived(), std::vector<uint32_t>{0});
  // The next request opens a new connection.
  ASSERT_EQ(HttpClient::get(gateway.port(), "/", {}, 5s).status, 200);
  EXPECT_EQ(backend.connectionCount(), 2u);
}

TEST(H2UpstreamKeepaliveTest, AFrozenInstanceIsFoundByPingAndItsRequestsAreRetriedElsewhere) {
  H2Backend frozen("a"), live("b");
  Gateway gateway;
  ASSERT_TRUE(gateway.start(
      kConfig, {{"BACKENDS", Gateway::addressList({frozen.address(), live.address()})},
                {"EXTRA",
                 "    http2: { keepalive_interval_ms: 200, keepalive_timeout_ms: 300 }\n"
                 "    retries: { budget_percent: 100 }"}}));
  // Both instances have a connection.
  for (int i = 0; i < 2; ++i) ASSERT_EQ(HttpClient::get(gateway.port(), "/", {}, 5s).status, 200);
  ASSERT_EQ(frozen.streamCount(), 1u);
  frozen.setFrozen(true);
  // Round robin gives the frozen instance its share: each such request waits for the PING's
  // timeout (about 0.5 s), fails as lost and is retried on the live one, well within the client's
  // 3 s (without keepalive it would hang until request_timeout_ms, 5 s).
  for (int i = 0; i < 4; ++i) {
    HttpResponse r = HttpClient::get(gateway.port(), "/", {}, 3s);
    EXPECT_EQ(r.status, 200) << i << ": " << r.describe();
    EXPECT_EQ(r.body, "hello from b") << i;
  }
  EXPECT_GE(frozen.streamCount(), 1u);  // held, never answered
  const std::string log = gatewayLog(gateway);
  EXPECT_NE(log.find("no answer to a keepalive PING within 300 ms"), std::string::npos) << log;
  frozen.setFrozen(false);
}

TEST(H2UpstreamKeepaliveTest, AnInstanceAnsweringPingsKeepsItsQuietConnection) {
  H2Backend backend("h2");
  Gateway gateway;
  ASSERT_TRUE(gateway.start(
      kConfig,
      {{"BACKENDS", Gateway::addressList({backend.address()})},
       {"EXTRA", "    http2: { keepalive_interval_ms: 100, keepalive_timeout_ms: 2000 }"}}));
  ASSERT_EQ(HttpClient::get(gateway.port(), "/", {}, 5s).status, 200);
  // A quiet connection: a PING every 100 ms, each answered (a timeout far above the machine's
  // stalls: the point is that answered PINGs never close it).
  EXPECT_TRUE(eventually([&] { return backend.pingsReceived() >= 8; }, 10s))
      << backend.pingsReceived();
  ASSERT_EQ(HttpClient::get(gateway.port(), "/", {}, 5s).status, 200);
  EXPECT_EQ(backend.connectionCount(), 1u);  // the same connection all along
  EXPECT_EQ(backend.openConnections(), 1u);
  const std::string log = gatewayLog(gateway);
  EXPECT_EQ(log.find("keepalive PING"), std::string::npos) << log;
}

}  // namespace
}  // namespace switchyard::support
