// Active health checks end to end: the gateway GETs each instance's health path from its control
// thread, in the protocol of the cluster (HTTP/1.1, HTTP/1.1 over TLS, h2c, h2 over TLS); an
// instance failing unhealthy_after checks in a row gets no traffic until it passes healthy_after
// in a row; below the panic threshold every instance takes traffic again.

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <map>

#include "tests/support/eventually.h"
#include "tests/support/free_port.h"
#include "tests/support/gateway.h"
#include "tests/support/h2_backend.h"
#include "tests/support/http_client.h"
#include "tests/support/nginx_server.h"
#include "tests/support/test_backend.h"
#include "tests/support/test_ca.h"
#include "tests/support/tls_test_backend.h"

namespace switchyard::support {
namespace {

using namespace std::chrono_literals;

constexpr const char* kConfig = R"(
workers: 2
listeners:
  - name: web
    address: "127.0.0.1:${LISTEN}"
    routes:
      - match: { path_prefix: "/" }
        cluster: web
clusters:
  - name: web
    discovery: { static: [${BACKENDS}] }
    health_check: { path: /health, interval_ms: 100, timeout_ms: 500, unhealthy_after: 2, healthy_after: 2 }
    panic_threshold_percent: ${PANIC}
${EXTRA}
admin:
  address: "127.0.0.1:${ADMIN}"
)";

// A backend whose /health answers 503 while `sick` is set; other paths answer 200.
struct CheckedBackend {
  explicit CheckedBackend(const std::string& name) : backend(name) {
    backend.setHandler([this](const BackendRequest& r) {
      if (r.target == "/health") {
        ++checks;
        return BackendBehavior::fixed(sick ? 503 : 200);
      }
      return BackendBehavior::fixed();
    });
  }
  TestBackend backend;
  std::atomic<bool> sick{false};
  std::atomic<uint64_t> checks{0};
};

// Who answered `n` requests: the x-backend header, else the body (H2Backend, nginx).
std::map<std::string, int> answering(uint16_t port, int n) {
  std::map<std::string, int> out;
  for (int i = 0; i < n; ++i) {
    HttpResponse r = HttpClient::get(port, "/");
    const std::string who = r.header("x-backend").empty() ? r.body : r.header("x-backend");
    ++out[r.status == 200 ? who : "failed " + r.describe()];
  }
  return out;
}

// How many times `text` occurs in `in`.
size_t occurrences(const std::string& in, const std::string& text) {
  size_t n = 0;
  for (size_t at = in.find(text); at != std::string::npos; at = in.find(text, at + 1)) ++n;
  return n;
}

TEST(HealthCheckTest, AnUnhealthyInstanceGetsNoTrafficUntilItPassesAgain) {
  CheckedBackend a("a"), b("b");
  Gateway gateway;
  ASSERT_TRUE(gateway.start(
      kConfig, {{"BACKENDS", Gateway::addressList({a.backend.address(), b.backend.address()})},
                {"PANIC", "50"},
                {"EXTRA", ""}}));
  ASSERT_TRUE(eventually([&] { return a.checks > 0 && b.checks > 0; }, 10s));
  EXPECT_TRUE(eventually([&] { return answering(gateway.port(), 10).count("b") == 1; }, 10s));

  b.sick = true;
  ASSERT_TRUE(eventually([&] { return answering(gateway.port(), 10).count("b") == 0; }, 10s));
  // It stays out while it fails (20 requests, both workers).
  auto seen = answering(gateway.port(), 20);
  EXPECT_EQ(seen, (std::map<std::string, int>{{"a", 20}}));

  b.sick = false;
  EXPECT_TRUE(eventually([&] { return answering(gateway.port(), 10).count("b") == 1; }, 10s));
}

TEST(HealthCheckTest, BelowThePanicThresholdEveryInstanceTakesTraffic) {
  CheckedBackend a("a"), b("b");
  Gateway gateway;
  ASSERT_TRUE(gateway.start(
      kConfig, {{"BACKENDS", Gateway::addressList({a.backend.address(), b.backend.address()})},
                {"PANIC", "60"},
                {"EXTRA", ""}}));
  b.sick = true;
  const uint64_t checks = b.checks;
  // Once b is unhealthy, 1 of 2 (50 %) is below 60 %: both still serve.
  ASSERT_TRUE(eventually([&] { return b.checks >= checks + 4; }, 10s));
  auto seen = answering(gateway.port(), 20);
  EXPECT_GT(seen["a"], 0);
  EXPECT_GT(seen["b"], 0);
  EXPECT_EQ(seen["a"] + seen["b"], 20);
}

// protocol: h2c: the probe is an HTTP/2 stream (prior knowledge) on a connection it keeps.
TEST(HealthCheckTest, AnH2cInstanceAnswering503IsTakenOutAndPutBack) {
  H2Backend a("a"), b("b");
  std::atomic<bool> b_sick{false};
  std::atomic<uint64_t> b_checks{0};
  a.setHandler([](const H2BackendRequest&) { return H2BackendBehavior::fixed(); });
  b.setHandler([&](const H2BackendRequest& r) {
    if (r.path != "/health") return H2BackendBehavior::fixed();
    ++b_checks;
    return H2BackendBehavior::fixed(b_sick ? 503 : 200, "health\n");
  });
  Gateway gateway;
  ASSERT_TRUE(
      gateway.start(kConfig, {{"BACKENDS", Gateway::addressList({a.address(), b.address()})},
                              {"PANIC", "50"},
                              {"EXTRA", "    protocol: h2c"}}));
  ASSERT_TRUE(eventually([&] { return b_checks >= 2; }, 10s));
  EXPECT_TRUE(
      eventually([&] { return answering(gateway.port(), 10).count("hello from b") == 1; }, 10s));

  b_sick = true;
  ASSERT_TRUE(
      eventually([&] { return answering(gateway.port(), 10).count("hello from b") == 0; }, 10s));
  EXPECT_EQ(answering(gateway.port(), 20), (std::map<std::string, int>{{"hello from a", 20}}));

  b_sick = false;
  EXPECT_TRUE(
      eventually([&] { return answering(gateway.port(), 10).count("hello from b") == 1; }, 10s));
  // Every probe of b went over HTTP/2 with the health path (the handler counted them), and the
  // verdict changed twice: logged twice, not at every interval.
  const std::string log = gateway.process().stderrText();
  EXPECT_EQ(occurrences(log, "instance " + b.address() + " unhealthy: GET /health -> 503"), 1u)
      << log;
  EXPECT_EQ(occurrences(log, "instance " + b.address() + " healthy again"), 1u) << log;
}

// http1 with tls: the probe is the GET over TLS, verified against the cluster's CA. Retries and
// outlier ejection are off here, so that a request routed to the impostor fails visibly (502)
// and only the health check can take it out.
TEST(HealthCheckTest, AnHttp1TlsInstanceWithAnotherCasCertificateGetsNoTraffic) {
  TestCa ca;
  TestCa other("Another CA");
  TlsTestBackend good("good", ca.issue(1)), flaky("flaky", ca.issue(2));
  TlsTestBackend impostor("impostor", other.issue(3));
  Gateway gateway;
  ASSERT_TRUE(gateway.start(
      kConfig,
      {{"BACKENDS", Gateway::addressList({good.address(), flaky.address(), impostor.address()})},
       {"PANIC", "30"},
       {"EXTRA", "    tls: { ca: \"" + ca.caCertificate() +
                     "\" }\n"
                     "    retries: { attempts: 0 }\n"
                     "    outlier_detection: { max_ejected_percent: 0 }"}}));
  // The impostor fails every handshake, probes included: the reason is logged once it is out.
  const std::string verdict = "instance " + impostor.address() +
                              " unhealthy: GET /health -> TLS handshake: certificate "
                              "verification failed: ";
  ASSERT_TRUE(eventually(
      [&] { return gateway.process().stderrText().find(verdict) != std::string::npos; }, 10s))
      << gateway.process().stderrText();
  // Once the workers have the verdict (posted to them after the log line) it gets no traffic;
  // the two others do (their probes passed, over TLS).
  ASSERT_TRUE(eventually([&] { return answering(gateway.port(), 10).size() == 2; }, 10s));
  auto seen = answering(gateway.port(), 20);
  EXPECT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen["good"] + seen["flaky"], 20);
  EXPECT_GT(good.requestsFor("/health"), 0u);
  EXPECT_EQ(impostor.requests(), 0u);

  // The probe reads the status over TLS: a 503 takes an instance out, a 200 puts it back.
  flaky.setStatus("/health", 503);
  ASSERT_TRUE(eventually([&] { return answering(gateway.port(), 10).count("flaky") == 0; }, 10s));
  EXPECT_EQ(answering(gateway.port(), 20), (std::map<std::string, int>{{"good", 20}}));
  flaky.setStatus("/health", 200);
  EXPECT_TRUE(eventually([&] { return answering(gateway.port(), 10).count("flaky") == 1; }, 10s));

  // The impostor, probed at every interval, was logged once: at its change of verdict.
  const uint64_t probes = good.requestsFor("/health");
  ASSERT_TRUE(eventually([&] { return good.requestsFor("/health") >= probes + 5; }, 10s));
  const std::string log = gateway.process().stderrText();
  EXPECT_EQ(occurrences(log, verdict), 1u) << log;
  EXPECT_EQ(occurrences(log, "instance " + impostor.address()), 1u) << log;
}

// protocol: h2 (HTTP/2 over TLS, ALPN h2) against nginx: its /health answers 503 while a file
// exists, so the test turns an instance sick and well again from outside.
class H2TlsHealthCheckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto cert = ca_.issue(2001);
    std::string servers;
    for (const char* name : {"a", "b"}) {
      const uint16_t port = ports_[name[0] - 'a'] = freeLoopbackPort();
      servers += fillTemplate(R"(
  server {
    listen 127.0.0.1:${PORT} ssl http2;
    ssl_certificate ${CERT};
    ssl_certificate_key ${KEY};
    location = /health {
      if (-f ${DIR}/sick-${NAME}) { return 503; }
      return 200 "ok\n";
    }
    location / { return 200 "nginx ${NAME} $server_protocol\n"; }
  })",
                              {{"PORT", std::to_string(port)},
                               {"CERT", cert.certificate},
                               {"KEY", cert.private_key},
                               {"DIR", nginx_.dir().path()},
                               {"NAME", name}});
    }
    ASSERT_TRUE(nginx_.start(servers, {ports_[0], ports_[1]}));
  }

  std::string address(char name) const { return "127.0.0.1:" + std::to_string(ports_[name - 'a']); }

  TestCa ca_;
  std::array<uint16_t, 2> ports_{};
  NginxServer nginx_;
};

TEST_F(H2TlsHealthCheckTest, AnInstanceFailingItsH2ChecksIsTakenOutAndPutBack) {
  Gateway gateway;
  ASSERT_TRUE(gateway.start(
      kConfig, {{"BACKENDS", Gateway::addressList({address('a'), address('b')})},
                {"PANIC", "50"},
                {"EXTRA", "    protocol: h2\n    tls: { ca: \"" + ca_.caCertificate() + "\" }"}}));
  // Both instances answer, over HTTP/2, and nothing fails.
  auto both = [&] {
    auto seen = answering(gateway.port(), 10);
    return seen.size() == 2 && seen.count("nginx a HTTP/2.0\n") && seen.count("nginx b HTTP/2.0\n");
  };
  ASSERT_TRUE(eventually(both, 10s)) << gateway.process().stderrText();

  nginx_.dir().writeFile("sick-b", "");
  ASSERT_TRUE(eventually(
      [&] { return answering(gateway.port(), 10).count("nginx b HTTP/2.0\n") == 0; }, 10s));
  EXPECT_EQ(answering(gateway.port(), 20),
            (std::map<std::string, int>{{"nginx a HTTP/2.0\n", 20}}));
  EXPECT_NE(gateway.process().stderrText().find("instance " + address('b') +
                                                " unhealthy: GET /health -> 503"),
            std::string::npos);

  std::remove(nginx_.dir().file("sick-b").c_str());
  EXPECT_TRUE(eventually(both, 10s));
}

}  // namespace
}  // namespace switchyard::support
