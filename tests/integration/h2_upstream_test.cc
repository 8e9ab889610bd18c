// Upstream HTTP/2 (issue 6): clusters with `protocol: h2c` and `h2`, reached from HTTP/1.1 and
// HTTP/2 clients, with a real nghttp2 backend (tests/support/h2_backend) and nginx serving h2c and
// h2 over TLS.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <iterator>
#include <regex>
#include <sstream>
#include <thread>

#include "tests/integration/h2c_cluster_config.h"
#include "tests/support/admin_metrics.h"
#include "tests/support/eventually.h"
#include "tests/support/free_port.h"
#include "tests/support/gateway.h"
#include "tests/support/h2_backend.h"
#include "tests/support/http_client.h"
#include "tests/support/nginx_server.h"
#include "tests/support/run_command.h"
#include "tests/support/switchyard_process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_ca.h"

namespace switchyard::support {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// The h2c cluster configuration shared with the other upstream HTTP/2 tests.
constexpr const char* kConfig = kH2cClusterConfig;

// `clients` threads, each sending `each` requests one after the other on its own keep-alive
// connection; returns the failures, described.
std::vector<std::string> runConcurrent(uint16_t port, int clients, int each,
                                       const std::string& target = "/") {
  std::mutex mu;
  std::vector<std::string> failures;
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c)
    threads.emplace_back([&] {
      HttpClient client;
      for (int i = 0; i < each; ++i) {
        if (!client.isOpen() && !client.connect(port)) {
          std::lock_guard lock(mu);
          failures.push_back("connect: " + client.lastError());
          continue;
        }
        HttpResponse r = client.roundTrip(HttpClient::buildRequest("GET", target, {}, ""),
                                          ReadOptions::within(10s));
        if (!r.ok() || r.status != 200) {
          std::lock_guard lock(mu);
          failures.push_back(r.describe());
        }
        if (!r.keep_alive) client.close();
      }
    });
  for (auto& t : threads) t.join();
  return failures;
}

// A raw loopback connection for exchanges that interleave sending and reading (streaming).
class RawConn {
 public:
  explicit RawConn(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~RawConn() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool ok() const { return fd_ >= 0; }
  bool send(std::string_view s) {
    while (!s.empty()) {
      const ssize_t n = ::send(fd_, s.data(), s.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      s.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }
  // Reads until everything received contains `marker`, the peer closes or the deadline passes.
  bool readUntil(std::string_view marker, std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (received_.find(marker) == std::string::npos) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char buf[16384];
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) {
        closed_ = true;
        return false;
      }
      received_.append(buf, static_cast<size_t>(n));
    }
    return true;
  }
  const std::string& received() const { return received_; }
  bool closed() const { return closed_; }  // the peer closed (or reset) the connection

 private:
  int fd_ = -1;
  bool closed_ = false;
  std::string received_;
};

std::string chunk(std::string_view data) {
  std::ostringstream out;
  out << std::hex << data.size() << "\r\n" << data << "\r\n";
  return out.str();
}

TEST(H2UpstreamTest, AnHttp1RequestReachesAnH2cBackendAndComesBack) {
  H2Backend backend("h2");
  Gateway gateway;
  ASSERT_TRUE(gateway.start(
      kConfig, {{"BACKENDS", Gateway::addressList({backend.address()})}, {"EXTRA", ""}}));
  HttpResponse r = HttpClient::get(gateway.port(), "/hello?x=1",
                                   {{"Host", "api.example.com"}, {"X-Custom", "yes"}}, 5s);
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "hello from h2");
  ASSERT_TRUE(backend.waitForRequests(1, 5s));
  const auto req = backend.requests().at(0);
  EXPECT_EQ(req.method, "GET");
  EXPECT_EQ(req.scheme, "http");
  EXPECT_EQ(req.authority, "api.example.com");
  EXPECT_EQ(req.path, "/hello?x=1");
  EXPECT_EQ(req.header("x-custom"), "yes");
  EXPECT_EQ(req.header("x-forwarded-for"), "127.0.0.1");
  EXPECT_EQ(req.header("host"), "");  // it became :authority
}

TEST(H2UpstreamTest, ConcurrentRequestsShareOneUpstreamConnection) {
  H2Backend backend("h2");
  H2BackendBehavior slow = H2BackendBehavior::fixed();
  slow.delay = 100ms;  // so that requests overlap at the backend
  backend.setBehavior(slow);
  Gateway gateway;
  ASSERT_TRUE(gateway.start(
      kConfig, {{"BACKENDS", Gateway::addressList({backend.address()})}, {"EXTRA", ""}}));
  const auto failures = runConcurrent(gateway.port(), 20, 5);
  EXPECT_TRUE(failures.empty()) << failures.size() << " failed, first: " << failures.front();
  EXPECT_EQ(backend.streamCount(), 100u);
  EXPECT_EQ(backend.connectionCount(), 1u);  // one worker: every stream on one connection
  EXPECT_GT(backend.maxConcurrentSeen(), 5u);
  // A stream that ended both ways is not reset (servers count resets as abuse).
  EXPECT_EQ(backend.resetsReceived(), 0u);
  EXPECT_EQ(
      metricSample(gateway.adminPort(), "switchyard_upstream_connects_total{cluster=\"grpc\""), 1);
}

TEST(H2UpstreamTest, TheServersMaxConcurrentStreamsOpensMoreConnections) {
  H2BackendOptions options;
  options.max_concurrent_streams = 4;
  H2Backend backend("h2", options);
  H2BackendBehavior slow = H2BackendBehavior::fixed();
  slow.delay = 100ms;
  backend.setBehavior(slow);
  Gateway gateway;
  ASSERT_TRUE(gateway.start(
      kConfig, {{"BACKENDS", Gateway::addressList({backend.address()})}, {"EXTRA", ""}}));
  // One request first, so that the gateway has learnt the server's limit.
  ASSERT_EQ(HttpClient::get(gateway.port(), "/", {}, 5s).status, 200);
  const auto failures = runConcurrent(gateway.port(), 16, 3);
  EXPECT_TRUE(failures.empty()) << failures.size() << " failed, first: " << failures.front();
  EXPECT_LE(backend.maxConcurrentSeen(), 4u);
  EXPECT_GE(backend.connectionCount(), 4u);  // 16 at once, 4 per connection
}

TEST(H2UpstreamTest, RefusedStreamsGoToAnotherInstanceWithNoClientFailure) {
  H2Backend refusing("refusing"), good("good");
  refusing.setBehavior(H2BackendBehavior::refuse());
  Gateway gateway;
  ASSERT_TRUE(gateway.start(
      kConfig,
      {{"BACKENDS", Gateway::addressList({refusing.address(), good.address()})}, {"EXTRA", ""}}));
  // POST is not idempotent: only a refusal (nothing processed) allows its retry.
  std::vector<std::string> failures;
  for (int i = 0; i < 20; ++i) {
    HttpClient client;
    ASSERT_TRUE(client.connect(gateway.port()));
    HttpResponse r = client.roundTrip(
        HttpClient::buildRequest("POST", "/rpc", {{"Connection", "close"}}, "payload"),
        ReadOptions::within(5s));
    if (!r.ok() || r.status != 200 || r.body != "hello from good") failures.push_back(r.describe());
  }
  EXPECT_TRUE(failures.empty()) << failures.size() << " failed, first: " << failures.front();
  EXPECT_GE(refusing.streamCount(), 5u);  // round robin sent it its share first
  EXPECT_EQ(good.requests().size(), 20u);
  for (const auto& r : good.requests()) EXPECT_EQ(r.body, "payload");
  EXPECT_GE(metricSample(gateway.adminPort(), "switchyard_cluster_retries_total{cluster=\"grpc\"}"),
            5);
}

TEST(H2UpstreamTest, GoawayFromTheServerCostsNoRequest) {
  H2BackendOptions options;
  options.goaway_after = 3;  // every connection is drained after three streams
  H2Backend backend("h2", options);
  H2BackendBehavior slow = H2BackendBehavior::fixed();
  slow.delay = 20ms;
  backend.setBehavior(slow);
  Gateway gateway;
  ASSERT_TRUE(gateway.start(
      kConfig, {{"BACKENDS", Gateway::addressList({backend.address()})}, {"EXTRA", ""}}));
  const auto failures = runConcurrent(gateway.port(), 6, 10);
  EXPECT_TRUE(failures.empty()) << failures.size() << " failed, first: " << failures.front();
  EXPECT_GE(backend.connectionCount(), 60u / 3);
  EXPECT_EQ(backend.requests().size(), 60u);
}

TEST(H2UpstreamTest, ABackendDyingMidResponseTruncatesItAndBeforeTheHeadAnswers502) {
  H2Backend backend("h2");
  backend.setHandler([](const H2BackendRequest& r) {
    if (r.path == "/die") return H2BackendBehavior::dieMidResponse(std::string(200000, 'x'));
    return H2BackendBehavior::closeConnection();
  });
  Gateway gateway;
  ASSERT_TRUE(gateway.start(
      kConfig, {{"BACKENDS", Gateway::addressList({backend.address()})}, {"EXTRA", ""}}));
  // The head went to the client: what arrived is relayed, then the truncation shows (the
  // connection closes without the last chunk).
  RawConn conn(gateway.port());
  ASSERT_TRUE(conn.ok());
  ASSERT_TRUE(conn.send("GET /die HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_FALSE(conn.readUntil("never sent", 5s));
  EXPECT_TRUE(conn.closed());
  EXPECT_EQ(conn.received().rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << conn.received().substr(0, 200);
  EXPECT_NE(conn.received().find("transfer-encoding: chunked"), std::string::npos);
  EXPECT_EQ(conn.received().find("\r\n0\r\n\r\n"), std::string::npos);

  // Nothing went to the client yet: the idempotent request is tried again (twice, by default),
  // then answered with an honest 502.
  HttpResponse r = HttpClient::get(gateway.port(), "/close", {}, 5s);
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_EQ(r.status, 502) << r.describe();
  EXPECT_EQ(r.header("x-switchyard-error"), "upstream-reset") << r.describe();
  EXPECT_EQ(backend.streamCount(), 1u + 3u);
}

TEST(H2UpstreamTest, ATryThatHangsMovesToAnotherInstanceAndTheLastAnswers504) {
  H2Backend hanging("hanging"), good("good");
  H2BackendBehavior never = H2BackendBehavior::fixed();
  never.delay = 30s;
  hanging.setBehavior(never);
  Gateway gateway;
  ASSERT_TRUE(gateway.start(
      kConfig, {{"BACKENDS", Gateway::addressList({hanging.address(), good.address()})},
                {"EXTRA", "    retries: { attempts: 1, per_try_timeout_ms: 300 }"}}));
  for (int i = 0; i < 4; ++i) {
    HttpResponse r = HttpClient::get(gateway.port(), "/", {}, 5s);
    EXPECT_EQ(r.status, 200) << r.describe();
    EXPECT_EQ(r.body, "hello from good");
  }
  EXPECT_GE(hanging.streamCount(), 1u);
  // With the good instance gone too, the request times out honestly.
  good.setBehavior(never);
  HttpResponse r = HttpClient::get(gateway.port(), "/", {}, 5s);
  EXPECT_EQ(r.status, 504) << r.describe();
  EXPECT_EQ(r.header("x-switchyard-error"), "upstream-timeout") << r.describe();
}

TEST(H2UpstreamTest, GrpcTrailersAndTeTrailersPassThroughToAnHttp1Client) {
  H2Backend backend("h2");
  backend.setBehavior(H2BackendBehavior::grpc("\x00\x00\x00\x00\x02hi", "7"));
  Gateway gateway;
  ASSERT_TRUE(gateway.start(
      kConfig, {{"BACKENDS", Gateway::addressList({backend.address()})}, {"EXTRA", ""}}));
  RawConn conn(gateway.port());
  ASSERT_TRUE(conn.ok());
  // A chunked request with a trailer of its own.
  ASSERT_TRUE(conn.send(
      "POST /pkg.Service/Method HTTP/1.1\r\nHost: grpc.local\r\nTE: trailers\r\n"
      "Content-Type: application/grpc\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" +
      chunk("request") + "0\r\nx-request-trailer: 1\r\n\r\n"));
  ASSERT_TRUE(conn.readUntil("grpc-message: done\r\n\r\n", 5s)) << conn.received();
  const std::string& got = conn.received();
  EXPECT_EQ(got.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << got;
  EXPECT_NE(got.find("transfer-encoding: chunked"), std::string::npos) << got;
  EXPECT_NE(got.find("0\r\ngrpc-status: 7\r\ngrpc-message: done\r\n\r\n"), std::string::npos)
      << got;
  ASSERT_TRUE(backend.waitForRequests(1, 5s));
  const auto req = backend.requests().at(0);
  EXPECT_EQ(req.header("te"), "trailers");
  EXPECT_EQ(req.body, "request");
  ASSERT_EQ(req.trailers.size(), 1u);
  EXPECT_EQ(req.trailers[0].first, "x-request-trailer");
}

TEST(H2UpstreamTest, ABidirectionalStreamFlowsBothWaysAtOnce) {
  H2Backend backend("h2");
  backend.setBehavior(H2BackendBehavior::echo());
  Gateway gateway;
  ASSERT_TRUE(gateway.start(
      kConfig, {{"BACKENDS", Gateway::addressList({backend.address()})}, {"EXTRA", ""}}));
  RawConn conn(gateway.port());
  ASSERT_TRUE(conn.ok());
  ASSERT_TRUE(
      conn.send("POST /chat HTTP/1.1\r\nHost: grpc.local\r\nTE: trailers\r\n"
                "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" +
                chunk("ping-1")));
  // Each piece comes back before the next one is sent: neither side waits for the other's end.
  ASSERT_TRUE(conn.readUntil("ping-1", 5s)) << conn.received();
  ASSERT_TRUE(conn.send(chunk("ping-2")));
  ASSERT_TRUE(conn.readUntil("ping-2", 5s)) << conn.received();
  ASSERT_TRUE(conn.send(chunk("ping-3") + "0\r\n\r\n"));
  ASSERT_TRUE(conn.readUntil("grpc-status: 0\r\n\r\n", 5s)) << conn.received();
}

TEST(H2UpstreamTest, Expect100ContinueIsAnsweredByTheGateway) {
  H2Backend backend("h2");
  backend.setBehavior(H2BackendBehavior::echo());
  Gateway gateway;
  ASSERT_TRUE(gateway.start(
      kConfig, {{"BACKENDS", Gateway::addressList({backend.address()})}, {"EXTRA", ""}}));
  RawConn conn(gateway.port());
  ASSERT_TRUE(conn.ok());
  ASSERT_TRUE(
      conn.send("PUT /up HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n"
                "Connection: close\r\n\r\n"));
  // The body is sent only after the interim answer.
  ASSERT_TRUE(conn.readUntil("HTTP/1.1 100 Continue\r\n\r\n", 5s)) << conn.received();
  ASSERT_TRUE(conn.send("hello"));
  ASSERT_TRUE(conn.readUntil("5\r\nhello\r\n", 5s)) << conn.received();
  ASSERT_TRUE(backend.waitForRequests(1, 5s));
  EXPECT_EQ(backend.requests().at(0).body, "hello");
  EXPECT_EQ(backend.requests().at(0).header("expect"), "");
}

TEST(H2UpstreamTest, LargeBodiesCrossBothFlowControlWindows) {
  H2Backend backend("h2");
  backend.setBehavior(H2BackendBehavior::echo());
  Gateway gateway;
  ASSERT_TRUE(gateway.start(
      kConfig, {{"BACKENDS", Gateway::addressList({backend.address()})}, {"EXTRA", ""}}));
  // Larger than the stream (256 KiB) and the backend's default (64 KiB) windows.
  std::string body(3 * 1024 * 1024, '\0');
  for (size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>('a' + i % 26);
  HttpClient client;
  ASSERT_TRUE(client.connect(gateway.port()));
  HttpResponse r = client.roundTrip(HttpClient::buildRequest("PUT", "/blob", {}, body),
                                    ReadOptions::within(30s));
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body.size(), body.size());
  EXPECT_TRUE(r.body == body);
  // The connection stays usable for the next request.
  backend.setBehavior(H2BackendBehavior::fixed(200, "after"));
  HttpResponse r2 =
      client.roundTrip(HttpClient::buildRequest("GET", "/", {}, ""), ReadOptions::within(5s));
  EXPECT_EQ(r2.body, "after") << r2.describe();
}

TEST(H2UpstreamTest, H2loadThroughTheGatewayToNginxServingH2c) {
  const uint16_t nginx_port = freeLoopbackPort();
  NginxServer nginx;
  ASSERT_TRUE(nginx.start(fillTemplate(R"(
  server {
    listen 127.0.0.1:${PORT} http2;
    location / { return 200 "nginx h2c\n"; }
  })",
                                       {{"PORT", std::to_string(nginx_port)}}),
                          {nginx_port}));
  Gateway gateway;
  ASSERT_TRUE(gateway.start(
      kConfig, {{"BACKENDS", Gateway::addressList({"127.0.0.1:" + std::to_string(nginx_port)})},
                {"EXTRA", ""}}));
  const auto r = runCommand({"h2load", "--h1", "-n", "2000", "-c", "20",
                             "http://127.0.0.1:" + std::to_string(gateway.port()) + "/"},
                            60s);
  ASSERT_EQ(r.exit_code, 0) << r.output();
  EXPECT_NE(r.out.find("2000 succeeded, 0 failed"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("2000 2xx"), std::string::npos) << r.out;
  // Twenty clients at once over few upstream connections (one worker).
  EXPECT_LE(
      metricSample(gateway.adminPort(), "switchyard_upstream_connects_total{cluster=\"grpc\""), 2);
}

// HTTP/2 on both sides: the gateway's HTTP/2 downstream (UpstreamRequest) hands requests for
// h2c clusters to the HTTP/2 client.
TEST(H2UpstreamTest, NghttpToAnH2cBackendWithTrailersOnEveryStream) {
  H2Backend backend("h2");
  backend.setBehavior(H2BackendBehavior::grpc("grpc-body", "7"));
  Gateway gateway;
  ASSERT_TRUE(gateway.start(
      kConfig, {{"BACKENDS", Gateway::addressList({backend.address()})}, {"EXTRA", ""}}));
  const auto r = runCommand({"nghttp", "-v", "-n", "-t", "20", "-m", "8", "-H", "te: trailers",
                             "http://127.0.0.1:" + std::to_string(gateway.port()) + "/svc/M"},
                            60s);
  ASSERT_EQ(r.exit_code, 0) << r.output();
  // Eight streams, each ending with a trailers HEADERS frame (END_STREAM | END_HEADERS).
  const std::regex trailer(R"(recv HEADERS frame <length=\d+, flags=0x05, stream_id=\d+>)");
  const auto trailers = static_cast<size_t>(std::distance(
      std::sregex_iterator(r.out.begin(), r.out.end(), trailer), std::sregex_iterator()));
  EXPECT_EQ(trailers, 8u) << r.out;
  EXPECT_NE(r.out.find("grpc-status: 7"), std::string::npos) << r.out;
  ASSERT_TRUE(backend.waitForRequests(8, 5s));
  for (const auto& req : backend.requests()) {
    EXPECT_EQ(req.header("te"), "trailers");
    EXPECT_EQ(req.path, "/svc/M");
    EXPECT_EQ(req.header("x-forwarded-proto"), "http");
  }
  EXPECT_EQ(backend.connectionCount(), 1u);
}

TEST(H2UpstreamTest, H2loadStreamsMultiplexedOnBothSides) {
  H2Backend backend("h2");
  Gateway gateway;
  ASSERT_TRUE(gateway.start(
      kConfig, {{"BACKENDS", Gateway::addressList({backend.address()})}, {"EXTRA", ""}}));
  const auto r = runCommand({"h2load", "-n", "2000", "-c", "4", "-m", "20",
                             "http://127.0.0.1:" + std::to_string(gateway.port()) + "/"},
                            60s);
  ASSERT_EQ(r.exit_code, 0) << r.output();
  EXPECT_NE(r.out.find("2000 succeeded, 0 failed"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("2000 2xx"), std::string::npos) << r.out;
  // 80 streams at once from the clients, on one upstream connection (one worker, the
  // backend allows 100).
  EXPECT_EQ(backend.connectionCount(), 1u) << gateway.process().stderrText();
  EXPECT_GT(backend.maxConcurrentSeen(), 1u);
  EXPECT_EQ(backend.resetsReceived(), 0u);
}

TEST(H2UpstreamTest, CurlHttp2BodiesBothWaysThroughAnH2cCluster) {
  H2Backend backend("h2");
  backend.setBehavior(H2BackendBehavior::echo());
  Gateway gateway;
  ASSERT_TRUE(gateway.start(
      kConfig, {{"BACKENDS", Gateway::addressList({backend.address()})}, {"EXTRA", ""}}));
  TempDir dir;
  std::string body(1 << 20, '\0');
  for (size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>('a' + i % 23);
  const auto in = dir.writeFile("in.bin", body);
  const auto r =
      runCommand({"curl", "-sS", "--http2-prior-knowledge", "--max-time", "20", "--data-binary",
                  "@" + in, "-o", dir.file("out.bin"), "-w", "%{http_code} %{http_version}",
                  "http://127.0.0.1:" + std::to_string(gateway.port()) + "/echo"},
                 30s);
  ASSERT_EQ(r.exit_code, 0) << r.output();
  EXPECT_EQ(r.out, "200 2");
  EXPECT_TRUE(dir.readFile("out.bin") == body);
}

// protocol: h2 — HTTP/2 over TLS to nginx, verified against the test's CA.
class H2TlsUpstreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto cert = ca_.issue(1001);
    port_ = freeLoopbackPort();
    ASSERT_TRUE(nginx_.start(fillTemplate(R"(
  server {
    listen 127.0.0.1:${PORT} ssl http2;
    ssl_certificate ${CERT};
    ssl_certificate_key ${KEY};
    location / { return 200 "nginx h2 tls $ssl_protocol $server_protocol\n"; }
  })",
                                          {{"PORT", std::to_string(port_)},
                                           {"CERT", cert.certificate},
                                           {"KEY", cert.private_key}}),
                             {port_}));
  }

  std::string backend() const { return "127.0.0.1:" + std::to_string(port_); }
  // kConfig with protocol h2 for the cluster.
  static std::string config() {
    std::string c = kConfig;
    c.replace(c.find("protocol: h2c"), 13, "protocol: h2");
    return c;
  }

  TestCa ca_;
  uint16_t port_ = 0;
  NginxServer nginx_;
};

TEST_F(H2TlsUpstreamTest, VerifiedH2OverTlsForHttp1AndHttp2Clients) {
  Gateway gateway;
  ASSERT_TRUE(
      gateway.start(config(), {{"BACKENDS", Gateway::addressList({backend()})},
                               {"EXTRA", "    tls: { ca: \"" + ca_.caCertificate() + "\" }"}}));
  HttpResponse r = HttpClient::get(gateway.port(), "/", {}, 5s);
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_EQ(r.status, 200) << r.describe() << gateway.process().stderrText();
  EXPECT_EQ(r.body.rfind("nginx h2 tls TLSv1.", 0), 0u) << r.body;
  EXPECT_NE(r.body.find(" HTTP/2.0\n"), std::string::npos) << r.body;
  const auto c = runCommand({"curl", "-sS", "--http2-prior-knowledge", "--max-time", "10",
                             "http://127.0.0.1:" + std::to_string(gateway.port()) + "/"},
                            20s);
  EXPECT_EQ(c.exit_code, 0) << c.output();
  EXPECT_EQ(c.out, r.body);
  const auto load = runCommand({"h2load", "--h1", "-n", "1000", "-c", "10",
                                "http://127.0.0.1:" + std::to_string(gateway.port()) + "/"},
                               60s);
  EXPECT_NE(load.out.find("1000 succeeded, 0 failed"), std::string::npos) << load.output();
  // Ten clients, one worker: the requests share one TLS connection at a time (nginx allows 128
  // streams at once, and sends GOAWAY after 1000 requests: 1002 make a second connection).
  EXPECT_LE(
      metricSample(gateway.adminPort(), "switchyard_upstream_connects_total{cluster=\"grpc\""), 2);
}

TEST_F(H2TlsUpstreamTest, AnUnverifiedInstanceIsAnswered502UpstreamTls) {
  TestCa other("Another CA");
  Gateway gateway;
  ASSERT_TRUE(
      gateway.start(config(), {{"BACKENDS", Gateway::addressList({backend()})},
                               {"EXTRA", "    tls: { ca: \"" + other.caCertificate() + "\" }"}}));
  HttpResponse r = HttpClient::get(gateway.port(), "/", {}, 5s);
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_EQ(r.status, 502) << r.describe();
  EXPECT_EQ(r.header("x-switchyard-error"), "upstream-tls") << r.describe();
  EXPECT_NE(r.body.find("certificate"), std::string::npos) << r.body;
  // An HTTP/2 client's stream takes the same exchange and hears the same.
  const auto c = runCommand({"curl", "-sS", "-i", "--http2-prior-knowledge", "--max-time", "10",
                             "http://127.0.0.1:" + std::to_string(gateway.port()) + "/"},
                            20s);
  ASSERT_EQ(c.exit_code, 0) << c.output();
  EXPECT_NE(c.out.find("HTTP/2 502"), std::string::npos) << c.out;
  EXPECT_NE(c.out.find("x-switchyard-error: upstream-tls"), std::string::npos) << c.out;
  EXPECT_NE(c.out.find("TLS handshake failed: certificate verification failed"), std::string::npos)
      << c.out;
  EXPECT_EQ(metricSample(gateway.adminPort(),
                         "switchyard_errors_total{listener=\"web\",cause=\"upstream-tls\"}"),
            2);
}

}  // namespace
}  // namespace switchyard::support
