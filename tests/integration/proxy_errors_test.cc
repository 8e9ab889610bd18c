// What the proxy answers when a client or an upstream misbehaves: bad framing and bad headers
// (400), limits (431, 413, 408, idle close), upstream failures (502, 503, 504, truncation).
// Every error the proxy itself writes must carry x-switchyard-error naming the cause.

#include <gtest/gtest.h>

#include "tests/support/free_port.h"
#include "tests/support/gateway.h"
#include "tests/support/http_client.h"
#include "tests/support/test_backend.h"

namespace switchyard::support {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr const char* kConfig = R"(
workers: 1
listeners:
  - name: web
    address: "127.0.0.1:${LISTEN}"
    protocol: http
    limits:
      max_header_bytes: 4096
      max_body_bytes: 100000
      header_timeout_ms: 300
      idle_timeout_ms: 500
    routes:
      - match: { path_prefix: "/refused/" }
        cluster: refused
      - match: { path_prefix: "/" }
        cluster: web
clusters:
  - name: web
    discovery: { static: ["${WEB}"] }
    request_timeout_ms: 500
  - name: refused
    discovery: { static: ["127.0.0.1:${DEAD_PORT}"] }
    connect_timeout_ms: 250
admin:
  address: "127.0.0.1:${ADMIN}"
)";

::testing::AssertionResult isProxyError(const HttpResponse& r, int status) {
  if (!r.ok()) return ::testing::AssertionFailure() << "no response: " << r.describe();
  if (r.status != status)
    return ::testing::AssertionFailure() << "expected " << status << ", got " << r.describe();
  if (r.header("x-switchyard-error").empty())
    return ::testing::AssertionFailure() << "no x-switchyard-error header: " << r.describe();
  return ::testing::AssertionSuccess();
}

class ProxyErrorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(gateway_.start(
        kConfig, {{"WEB", backend_.address()}, {"DEAD_PORT", std::to_string(freeLoopbackPort())}}));
    ASSERT_TRUE(client_.connect(gateway_.port())) << client_.lastError();
  }
  // The proxy still serves a well-formed request on a fresh connection.
  void expectStillServing() {
    HttpResponse r = HttpClient::get(gateway_.port(), "/");
    EXPECT_TRUE(r.ok() && r.status == 200) << "after the error: " << r.describe();
  }
  TestBackend backend_{"b1"};
  Gateway gateway_;
  HttpClient client_;
};

TEST_F(ProxyErrorsTest, ContentLengthWithTransferEncodingIs400) {
  HttpResponse r = client_.roundTrip(
      "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
      "0\r\n\r\n");
  EXPECT_TRUE(isProxyError(r, 400));
  EXPECT_EQ(backend_.requestCount(), 0u) << "a smuggling-shaped request reached the backend";
  expectStillServing();
}

TEST_F(ProxyErrorsTest, TwoDifferentContentLengthsAre400) {
  HttpResponse r = client_.roundTrip(
      "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!");
  EXPECT_TRUE(isProxyError(r, 400));
  EXPECT_EQ(backend_.requestCount(), 0u);
}

TEST_F(ProxyErrorsTest, InvalidByteInAHeaderNameIs400) {
  HttpResponse r = client_.roundTrip("GET / HTTP/1.1\r\nHost: x\r\nBad\x01Name: v\r\n\r\n");
  EXPECT_TRUE(isProxyError(r, 400));
  ASSERT_TRUE(client_.connect(gateway_.port()));
  r = client_.roundTrip("GET / HTTP/1.1\r\nHost: x\r\nBad Name: v\r\n\r\n");
  EXPECT_TRUE(isProxyError(r, 400));
  EXPECT_EQ(backend_.requestCount(), 0u);
  expectStillServing();
}

TEST_F(ProxyErrorsTest, ObsFoldIs400) {
  HttpResponse r = client_.roundTrip("GET / HTTP/1.1\r\nHost: x\r\nX-Folded: one\r\n  two\r\n\r\n");
  EXPECT_TRUE(isProxyError(r, 400));
  EXPECT_EQ(backend_.requestCount(), 0u);
}

TEST_F(ProxyErrorsTest, HeaderBlockOverTheLimitIs431) {
  HttpResponse r =
      client_.roundTrip(HttpClient::buildRequest("GET", "/", {{"X-Big", std::string(8000, 'a')}}));
  EXPECT_TRUE(isProxyError(r, 431));
  EXPECT_EQ(backend_.requestCount(), 0u);
  expectStillServing();
}

TEST_F(ProxyErrorsTest, HeaderBlockJustUnderTheLimitPasses) {
  HttpResponse r =
      client_.roundTrip(HttpClient::buildRequest("GET", "/", {{"X-Big", std::string(3000, 'a')}}));
  EXPECT_TRUE(r.ok() && r.status == 200) << r.describe();
}

TEST_F(ProxyErrorsTest, DeclaredBodyOverTheLimitIs413) {
  // Only the head is sent: the declared length alone is enough to refuse.
  HttpResponse r =
      client_.roundTrip(HttpClient::buildRequest("POST", "/", {{"Content-Length", "200000"}}));
  EXPECT_TRUE(isProxyError(r, 413));
  EXPECT_EQ(backend_.requestCount(), 0u);
  expectStillServing();
}

TEST_F(ProxyErrorsTest, ChunkedBodyOverTheLimitIs413) {
  backend_.setBehavior(BackendBehavior::echo());
  ASSERT_TRUE(
      client_.send(HttpClient::buildRequest("POST", "/", {{"Transfer-Encoding", "chunked"}})));
  ASSERT_TRUE(client_.sendPattern(100'001, 50'000)) << client_.lastError();
  HttpResponse r = client_.readResponse(ReadOptions::within(5s));
  EXPECT_TRUE(isProxyError(r, 413));
  expectStillServing();
}

TEST_F(ProxyErrorsTest, HalfAHeaderIsCutOffAfterTheHeaderTimeout) {
  auto t0 = Clock::now();
  ASSERT_TRUE(client_.send("GET / HTTP/1.1\r\nHost: x\r\n"));
  HttpResponse r = client_.readResponse(ReadOptions::within(5s));
  auto elapsed = Clock::now() - t0;
  EXPECT_NE(r.read_status, ReadStatus::kTimeout) << "the slow client was never cut off";
  if (r.ok()) {
    EXPECT_TRUE(isProxyError(r, 408));
  }
  EXPECT_GE(elapsed, 250ms) << "cut off before header_timeout_ms";
  EXPECT_LT(elapsed, 3s);
}

TEST_F(ProxyErrorsTest, TricklingHeaderBytesDoesNotExtendTheHeaderTimeout) {
  auto t0 = Clock::now();
  ASSERT_TRUE(client_.send("GET / HTTP/1.1\r\nHost: x\r\n"));
  bool closed = false;
  while (!closed && Clock::now() - t0 < 5s) {
    if (!client_.send("X-a: b\r\n")) break;  // the proxy closed: a write may fail
    closed = client_.waitForClose(50ms);
  }
  if (!closed) closed = client_.waitForClose(1s);
  auto elapsed = Clock::now() - t0;
  EXPECT_TRUE(closed) << "a client sending a header line every 50 ms was never cut off";
  EXPECT_LT(elapsed, 3s) << "each byte re-armed the header timeout";
}

TEST_F(ProxyErrorsTest, IdleKeepAliveConnectionIsClosedAfterIdleTimeout) {
  HttpResponse r = client_.roundTrip(HttpClient::buildRequest("GET", "/"));
  ASSERT_TRUE(r.ok() && r.status == 200) << r.describe();
  ASSERT_TRUE(r.keep_alive);
  auto t0 = Clock::now();
  std::string extra;
  EXPECT_TRUE(client_.waitForClose(5s, &extra)) << "idle connection left open";
  auto elapsed = Clock::now() - t0;
  EXPECT_GE(elapsed, 400ms) << "closed before idle_timeout_ms";
  EXPECT_LT(elapsed, 3s);
  // A 408 on an idle connection is allowed; anything else is not.
  if (!extra.empty()) {
    EXPECT_EQ(extra.rfind("HTTP/1.1 408", 0), 0u) << extra;
  }
}

TEST_F(ProxyErrorsTest, RefusedUpstreamIs502Or503) {
  HttpResponse r = client_.roundTrip(HttpClient::buildRequest("GET", "/refused/x"));
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_TRUE(r.status == 502 || r.status == 503) << r.describe();
  EXPECT_FALSE(r.header("x-switchyard-error").empty()) << r.describe();
  // The client connection survives an upstream failure.
  HttpResponse next = client_.roundTrip(HttpClient::buildRequest("GET", "/"));
  EXPECT_TRUE(next.ok() && next.status == 200) << next.describe();
}

TEST_F(ProxyErrorsTest, BackendDyingMidResponseTruncatesTheClientResponse) {
  backend_.setBehavior(BackendBehavior::closeMidResponse(200'000));
  HttpResponse r = client_.roundTrip(HttpClient::buildRequest("GET", "/"), ReadOptions::within(5s));
  EXPECT_NE(r.read_status, ReadStatus::kTimeout) << "the client hangs: " << r.describe();
  if (r.ok()) {
    // Only acceptable if the proxy had not started the response: then an honest 502.
    EXPECT_TRUE(isProxyError(r, 502));
  } else {
    EXPECT_EQ(r.read_status, ReadStatus::kClosed) << r.describe();
  }
}

TEST_F(ProxyErrorsTest, BackendResettingTheConnectionIs502) {
  backend_.setBehavior(BackendBehavior::reset());
  HttpResponse r = client_.roundTrip(HttpClient::buildRequest("GET", "/"), ReadOptions::within(5s));
  EXPECT_TRUE(isProxyError(r, 502));
}

TEST_F(ProxyErrorsTest, BackendSlowerThanRequestTimeoutIs504) {
  backend_.setBehavior(BackendBehavior::delayed(3s));
  auto t0 = Clock::now();
  HttpResponse r = client_.roundTrip(HttpClient::buildRequest("GET", "/"), ReadOptions::within(5s));
  auto elapsed = Clock::now() - t0;
  EXPECT_TRUE(isProxyError(r, 504));
  EXPECT_GE(elapsed, 400ms);
  EXPECT_LT(elapsed, 2500ms) << "the proxy waited for the backend instead of timing out";
}

constexpr const char* kEmptyCluster = R"(
workers: 1
listeners:
  - name: web
    address: "127.0.0.1:${LISTEN}"
    protocol: http
    routes:
      - match: { path_prefix: "/" }
        cluster: nobody-home
clusters:
  - name: nobody-home
    discovery: { static: [] }
admin:
  address: "127.0.0.1:${ADMIN}"
)";

TEST(ProxyErrorsNoInstanceTest, ClusterWithoutInstancesIs503NamingTheCluster) {
  Gateway gateway;
  ASSERT_TRUE(gateway.start(kEmptyCluster));
  HttpResponse r = HttpClient::get(gateway.port(), "/");
  EXPECT_TRUE(isProxyError(r, 503));
  EXPECT_NE(r.body.find("nobody-home"), std::string::npos) << r.describe();
}

}  // namespace
}  // namespace switchyard::support
