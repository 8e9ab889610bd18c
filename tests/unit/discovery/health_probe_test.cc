#include "discovery/health_probe.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <optional>

#include "tests/support/test_backend.h"
#include "tests/unit/discovery/run_until.h"

namespace switchyard::discovery {
namespace {

using namespace std::chrono_literals;
using support::BackendBehavior;
using support::BackendRequest;
using support::TestBackend;
using switchyard::testing::runUntil;

HealthTarget target(uint16_t port, std::string path = "/health") {
  HealthTarget t;
  t.host = "127.0.0.1";
  t.port = port;
  t.path = std::move(path);
  return t;
}

// One GET, run to completion on a fresh io_context.
std::optional<HealthOutcome> probeOnce(const HealthTarget& t, std::chrono::milliseconds timeout) {
  boost::asio::io_context io;
  HealthProbe probe(io);
  std::optional<HealthOutcome> outcome;
  probe.get(t, timeout, [&](HealthOutcome o) { outcome = std::move(o); });
  if (!runUntil(
          io, [&] { return outcome.has_value(); }, 10s))
    return std::nullopt;
  return outcome;
}

TEST(HealthTargetTest, ParsesPlainHttpUrls) {
  auto full = HealthTarget::parseUrl("http://10.0.0.7:8081/health?deep=1");
  ASSERT_TRUE(full) << full.error().message;
  EXPECT_EQ(full->host, "10.0.0.7");
  EXPECT_EQ(full->port, 8081);
  EXPECT_EQ(full->path, "/health?deep=1");

  auto bare = HealthTarget::parseUrl("http://db-7.example.net");
  ASSERT_TRUE(bare) << bare.error().message;
  EXPECT_EQ(bare->host, "db-7.example.net");
  EXPECT_EQ(bare->port, 80);
  EXPECT_EQ(bare->path, "/");

  auto v6 = HealthTarget::parseUrl("http://[::1]:9000/ok");
  ASSERT_TRUE(v6) << v6.error().message;
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 9000);
  EXPECT_EQ(v6->url(), "http://[::1]:9000/ok");
}

TEST(HealthTargetTest, RejectsWhatItCannotProbe) {
  for (const char* url :
       {"https://h/health", "ftp://h/", "h:80/health", "http://", "http:///x", "http://h:0/",
        "http://h:70000/", "http://u@h/", "http://h/a#b", "http://h/a b"}) {
    auto parsed = HealthTarget::parseUrl(url);
    EXPECT_FALSE(parsed) << url << " accepted as " << parsed->url();
  }
  auto https = HealthTarget::parseUrl("https://h/health");
  ASSERT_FALSE(https);
  EXPECT_NE(https.error().message.find("plain http:// only"), std::string::npos);
}

TEST(HealthProbeTest, ReportsTheStatusAndSendsAPlainGet) {
  TestBackend backend("health");
  backend.setHandler([](const BackendRequest& r) {
    return BackendBehavior::fixed(r.target == "/health" ? 204 : 404);
  });
  auto ok = probeOnce(target(backend.port()), 2s);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 204);
  EXPECT_TRUE(ok->healthy());
  ASSERT_TRUE(backend.waitForRequests(1, 5s));
  const auto request = backend.requests().front();
  EXPECT_EQ(request.method, "GET");
  EXPECT_EQ(request.header("host"), "127.0.0.1:" + std::to_string(backend.port()));

  auto missing = probeOnce(target(backend.port(), "/nope"), 2s);
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_FALSE(missing->healthy());
  EXPECT_TRUE(missing->answered());
}

TEST(HealthProbeTest, ARefusedConnectionIsAnError) {
  // A port that was just bound and closed: nothing listens on it.
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor acceptor(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  const uint16_t port = acceptor.local_endpoint().port();
  acceptor.close();
  auto outcome = probeOnce(target(port), 2s);
  ASSERT_TRUE(outcome);
  EXPECT_FALSE(outcome->answered());
  EXPECT_NE(outcome->error.find("connect"), std::string::npos) << outcome->error;
}

TEST(HealthProbeTest, ASlowAnswerTimesOut) {
  TestBackend backend("slow");
  backend.setBehavior(BackendBehavior::delayed(3s));
  const auto start = std::chrono::steady_clock::now();
  auto outcome = probeOnce(target(backend.port()), 100ms);
  ASSERT_TRUE(outcome);
  EXPECT_FALSE(outcome->answered());
  EXPECT_EQ(outcome->error, "timed out after 100 ms");
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

TEST(HealthProbeTest, ANewGetOrCancelDropsThePendingCallback) {
  TestBackend backend("slow");
  backend.setHandler([](const BackendRequest& r) {
    return r.target == "/slow" ? BackendBehavior::delayed(300ms) : BackendBehavior::fixed(200);
  });
  boost::asio::io_context io;
  HealthProbe probe(io);
  int first_calls = 0;
  std::optional<HealthOutcome> second;
  probe.get(target(backend.port(), "/slow"), 2s, [&](HealthOutcome) { ++first_calls; });
  probe.get(target(backend.port(), "/fast"), 2s, [&](HealthOutcome o) { second = o; });
  ASSERT_TRUE(runUntil(
      io, [&] { return second.has_value(); }, 10s));
  EXPECT_EQ(second->status, 200);

  probe.get(target(backend.port(), "/slow"), 2s, [&](HealthOutcome) { ++first_calls; });
  probe.cancel();
  // Long enough for the slow answer to have come back, had it not been cancelled.
  runUntil(
      io, [] { return false; }, 600ms);
  EXPECT_EQ(first_calls, 0);
}

}  // namespace
}  // namespace switchyard::discovery
