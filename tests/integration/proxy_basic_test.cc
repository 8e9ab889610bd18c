// The HTTP/1.1 proxy end to end: real backends on loopback, the real switchyard binary, raw
// sockets and curl as clients. What a request looks like after the proxy, keep-alive on both
// sides, load balancing, routing, splits, bodiless responses and pipelining.

#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>

#include "tests/support/gateway.h"
#include "tests/support/http_client.h"
#include "tests/support/run_command.h"
#include "tests/support/test_backend.h"

namespace switchyard::support {
namespace {

using namespace std::chrono_literals;

// One listener routing everything to cluster "web" (round robin over ${WEB}).
constexpr const char* kSingleCluster = R"(
workers: 1
listeners:
  - name: web
    address: "127.0.0.1:${LISTEN}"
    protocol: http
    routes:
      - match: { path_prefix: "/" }
        cluster: web
clusters:
  - name: web
    discovery:
      static: [${WEB}]
    load_balancer: round_robin
admin:
  address: "127.0.0.1:${ADMIN}"
)";

class ProxyBasicTest : public ::testing::Test {
 protected:
  void startSingle(std::initializer_list<std::string> addresses) {
    ASSERT_TRUE(gateway_.start(kSingleCluster, {{"WEB", Gateway::addressList(addresses)}}));
  }
  Gateway gateway_;
};

TEST_F(ProxyBasicTest, ForwardsWithHostKeptForwardingHeadersAddedAndHopByHopStripped) {
  TestBackend backend("b1");
  backend.setBehavior(BackendBehavior::echo());
  startSingle({backend.address()});

  HttpClient c;
  ASSERT_TRUE(c.connect(gateway_.port())) << c.lastError();
  HttpResponse r = c.roundTrip(HttpClient::buildRequest("GET", "/path/x?q=1",
                                                        {{"Host", "app.example:8080"},
                                                         {"X-Custom", "kept"},
                                                         {"Connection", "keep-alive"},
                                                         {"Keep-Alive", "timeout=5"},
                                                         {"Proxy-Connection", "keep-alive"},
                                                         {"TE", "trailers"},
                                                         {"Trailer", "x-sum"}}));
  ASSERT_TRUE(r.ok()) << r.describe();
  ASSERT_EQ(r.status, 200) << r.describe();
  ASSERT_TRUE(backend.waitForRequests(1, 2s));
  BackendRequest seen = backend.requests().at(0);
  EXPECT_EQ(seen.method, "GET");
  EXPECT_EQ(seen.target, "/path/x?q=1");
  EXPECT_EQ(seen.header("host"), "app.example:8080");
  EXPECT_EQ(seen.headerCount("host"), 1u);
  EXPECT_EQ(seen.header("x-custom"), "kept");
  EXPECT_EQ(seen.header("x-forwarded-for"), "127.0.0.1");
  EXPECT_EQ(seen.header("x-forwarded-proto"), "http");
  for (const char* hop : {"keep-alive", "proxy-connection", "te", "trailer", "upgrade"})
    EXPECT_FALSE(seen.hasHeader(hop)) << hop << " was forwarded: " << seen.header(hop);
  // The proxy may speak its own Connection header to the upstream, never relay the client's.
  EXPECT_LE(seen.headerCount("connection"), 1u);
}

TEST_F(ProxyBasicTest, AppendsToAnExistingXForwardedFor) {
  TestBackend backend("b1");
  backend.setBehavior(BackendBehavior::echo());
  startSingle({backend.address()});
  HttpResponse r = HttpClient::get(gateway_.port(), "/", {{"X-Forwarded-For", "10.1.2.3"}});
  ASSERT_TRUE(r.ok() && r.status == 200) << r.describe();
  ASSERT_TRUE(backend.waitForRequests(1, 2s));
  EXPECT_EQ(backend.requests().at(0).header("x-forwarded-for"), "10.1.2.3, 127.0.0.1");
}

TEST_F(ProxyBasicTest, StripsHeadersNamedByConnection) {
  TestBackend backend("b1");
  backend.setBehavior(BackendBehavior::echo());
  startSingle({backend.address()});
  HttpResponse r =
      HttpClient::get(gateway_.port(), "/", {{"Connection", "x-drop-me"}, {"X-Drop-Me", "secret"}});
  ASSERT_TRUE(r.ok() && r.status == 200) << r.describe();
  ASSERT_TRUE(backend.waitForRequests(1, 2s));
  EXPECT_FALSE(backend.requests().at(0).hasHeader("x-drop-me"));
}

TEST_F(ProxyBasicTest, StripsHopByHopHeadersFromTheResponse) {
  TestBackend backend("b1");
  BackendBehavior b = BackendBehavior::fixed();
  b.headers = {{"Keep-Alive", "timeout=99"},
               {"Proxy-Connection", "keep-alive"},
               {"X-Backend-Extra", "kept"}};
  backend.setBehavior(b);
  startSingle({backend.address()});
  HttpClient c;
  ASSERT_TRUE(c.connect(gateway_.port()));
  HttpResponse r = c.roundTrip(HttpClient::buildRequest("GET", "/"));
  ASSERT_TRUE(r.ok() && r.status == 200) << r.describe();
  EXPECT_EQ(r.header("x-backend-extra"), "kept");
  EXPECT_FALSE(r.hasHeader("keep-alive")) << r.describe();
  EXPECT_FALSE(r.hasHeader("proxy-connection")) << r.describe();
  EXPECT_EQ(r.body, "hello from b1");
}

TEST_F(ProxyBasicTest, ReusesConnectionsOnBothSides) {
  TestBackend backend("b1");
  startSingle({backend.address()});
  HttpClient c;
  ASSERT_TRUE(c.connect(gateway_.port()));
  constexpr int kRequests = 50;
  for (int i = 0; i < kRequests; ++i) {
    HttpResponse r = c.roundTrip(HttpClient::buildRequest("GET", "/" + std::to_string(i)));
    ASSERT_TRUE(r.ok()) << "request " << i << ": " << r.describe();
    ASSERT_EQ(r.status, 200);
    ASSERT_TRUE(r.keep_alive) << "the proxy closed the client connection after request " << i;
  }
  EXPECT_EQ(backend.requestCount(), static_cast<uint64_t>(kRequests));
  // One client connection, sequential requests: the pool needs one upstream connection.
  EXPECT_LE(backend.connectionCount(), 2u) << "upstream connections are not reused";
}

TEST_F(ProxyBasicTest, RoundRobinSpreadsEvenlyOverThreeBackends) {
  TestBackend b1("b1"), b2("b2"), b3("b3");
  startSingle({b1.address(), b2.address(), b3.address()});
  std::map<std::string, int> hits;
  HttpClient c;
  ASSERT_TRUE(c.connect(gateway_.port()));
  constexpr int kRequests = 300;
  for (int i = 0; i < kRequests; ++i) {
    HttpResponse r = c.roundTrip(HttpClient::buildRequest("GET", "/"));
    ASSERT_TRUE(r.ok() && r.status == 200) << r.describe();
    ++hits[r.header("x-backend")];
  }
  ASSERT_EQ(hits.size(), 3u);
  for (const auto& [name, n] : hits) {
    EXPECT_GE(n, 90) << name;
    EXPECT_LE(n, 110) << name;
  }
}

constexpr const char* kRoutes = R"(
workers: 1
listeners:
  - name: web
    address: "127.0.0.1:${LISTEN}"
    protocol: http
    routes:
      - match: { host: "api.example.com" }
        cluster: by-host
      - match: { path_prefix: "/b/" }
        cluster: by-path
      - match: { path_prefix: "/", headers: { x-canary: "1" } }
        cluster: by-header
      - match: { path_prefix: "/" }
        cluster: fallback
clusters:
  - name: by-host
    discovery: { static: ["${HOST_BACKEND}"] }
  - name: by-path
    discovery: { static: ["${PATH_BACKEND}"] }
  - name: by-header
    discovery: { static: ["${HEADER_BACKEND}"] }
  - name: fallback
    discovery: { static: ["${FALLBACK_BACKEND}"] }
admin:
  address: "127.0.0.1:${ADMIN}"
)";

TEST_F(ProxyBasicTest, RoutesByHostPathPrefixAndHeader) {
  TestBackend host("host"), path("path"), header("header"), fallback("fallback");
  ASSERT_TRUE(gateway_.start(kRoutes, {{"HOST_BACKEND", host.address()},
                                       {"PATH_BACKEND", path.address()},
                                       {"HEADER_BACKEND", header.address()},
                                       {"FALLBACK_BACKEND", fallback.address()}}));
  struct Case {
    HeaderList headers;
    std::string target;
    std::string expect;
  };
  std::vector<Case> cases = {
      {{{"Host", "api.example.com"}}, "/b/x", "host"},    // first match wins
      {{{"Host", "API.example.com:8080"}}, "/", "host"},  // case-insensitive, port ignored
      {{{"Host", "other"}}, "/b/x", "path"},
      {{{"Host", "other"}}, "/bx", "fallback"},
      {{{"Host", "other"}, {"X-Canary", "1"}}, "/c", "header"},
      {{{"Host", "other"}, {"X-Canary", "2"}}, "/c", "fallback"},
      {{{"Host", "other"}}, "/", "fallback"},
  };
  for (const auto& tc : cases) {
    HttpResponse r = HttpClient::get(gateway_.port(), tc.target, tc.headers);
    ASSERT_TRUE(r.ok() && r.status == 200) << tc.target << ": " << r.describe();
    EXPECT_EQ(r.header("x-backend"), tc.expect) << tc.target << " with " << tc.headers[0].second;
  }
}

constexpr const char* kSplit = R"(
workers: 1
listeners:
  - name: web
    address: "127.0.0.1:${LISTEN}"
    protocol: http
    routes:
      - match: { path_prefix: "/" }
        split:
          - { cluster: stable, weight: 80 }
          - { cluster: canary, weight: 20 }
clusters:
  - name: stable
    discovery: { static: ["${STABLE}"] }
  - name: canary
    discovery: { static: ["${CANARY}"] }
admin:
  address: "127.0.0.1:${ADMIN}"
)";

TEST_F(ProxyBasicTest, WeightedSplitBetweenTwoClusters) {
  TestBackend stable("stable"), canary("canary");
  ASSERT_TRUE(gateway_.start(kSplit, {{"STABLE", stable.address()}, {"CANARY", canary.address()}}));
  constexpr int kRequests = 1000;
  int to_canary = 0;
  HttpClient c;
  ASSERT_TRUE(c.connect(gateway_.port()));
  for (int i = 0; i < kRequests; ++i) {
    HttpResponse r = c.roundTrip(HttpClient::buildRequest("GET", "/"));
    ASSERT_TRUE(r.ok() && r.status == 200) << r.describe();
    if (r.header("x-backend") == "canary") ++to_canary;
  }
  // 20% of 1000 is 200 with a standard deviation of about 12.6: 5 sigmas either side.
  EXPECT_GE(to_canary, 137);
  EXPECT_LE(to_canary, 263);
  EXPECT_EQ(stable.requestCount() + canary.requestCount(), static_cast<uint64_t>(kRequests));
}

TEST_F(ProxyBasicTest, HeadNoContentAndNotModifiedCarryNoBody) {
  TestBackend backend("b1");
  backend.setHandler([](const BackendRequest& req) {
    if (req.target == "/204") return BackendBehavior::fixed(204);
    if (req.target == "/304") return BackendBehavior::fixed(304);
    return BackendBehavior::fixed(200, "0123456789");
  });
  startSingle({backend.address()});
  HttpClient c;
  ASSERT_TRUE(c.connect(gateway_.port()));
  HttpResponse head = c.roundTrip(HttpClient::buildRequest("HEAD", "/"));
  ASSERT_TRUE(head.ok()) << head.describe();
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.header("content-length"), "10");
  for (const char* target : {"/204", "/304"}) {
    HttpResponse r = c.roundTrip(HttpClient::buildRequest("GET", target));
    ASSERT_TRUE(r.ok()) << target << ": " << r.describe();
    EXPECT_EQ(std::to_string(r.status), std::string(target).substr(1));
    EXPECT_EQ(r.body_bytes, 0u);
    EXPECT_FALSE(r.chunked) << target << " was given a chunked body";
  }
  // Had any of them carried body bytes, this response would be out of step.
  HttpResponse after = c.roundTrip(HttpClient::buildRequest("GET", "/"), ReadOptions::within(3s));
  ASSERT_TRUE(after.ok()) << after.describe();
  EXPECT_EQ(after.status, 200);
  EXPECT_EQ(after.body, "0123456789");
}

TEST_F(ProxyBasicTest, PipelinedRequestsAreAnsweredInOrder) {
  TestBackend backend("b1");
  backend.setBehavior(BackendBehavior::echo());
  startSingle({backend.address()});
  HttpClient c;
  ASSERT_TRUE(c.connect(gateway_.port()));
  ASSERT_TRUE(c.send(HttpClient::buildRequest("GET", "/first") +
                     HttpClient::buildRequest("POST", "/second", {}, "body-2") +
                     HttpClient::buildRequest("GET", "/third")));
  for (const char* target : {"/first", "/second", "/third"}) {
    HttpResponse r = c.readResponse();
    ASSERT_TRUE(r.ok()) << target << ": " << r.describe();
    ASSERT_EQ(r.status, 200) << r.describe();
    EXPECT_EQ(nlohmann::json::parse(r.body)["target"], target);
  }
}

TEST_F(ProxyBasicTest, CurlThroughTheProxy) {
  TestBackend backend("b1");
  startSingle({backend.address()});
  CommandResult r = runCommand({"curl", "-sS", "-v", "--max-time", "10",
                                "http://127.0.0.1:" + std::to_string(gateway_.port()) + "/hello"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "hello from b1");
  EXPECT_NE(r.err.find("< HTTP/1.1 200"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("< x-backend: b1"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace switchyard::support
