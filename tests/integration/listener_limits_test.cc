// limits.max_connections holds per listener across workers (the gateway's workers each accept on
// their own SO_REUSEPORT socket, so a per-worker count would let N workers take N times the
// limit): with two workers, whichever worker accepts the connection over the limit closes it at
// once and counts it in switchyard_downstream_connections_rejected_total.

#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "tests/support/admin_metrics.h"
#include "tests/support/eventually.h"
#include "tests/support/gateway.h"
#include "tests/support/http_client.h"
#include "tests/support/test_backend.h"

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
    limits: { max_connections: 3 }
clusters:
  - name: web
    discovery: { static: ["${BACKEND}"] }
admin:
  address: "127.0.0.1:${ADMIN}"
)";

// A keep-alive request on `client`; true when it was answered 200.
bool answered(HttpClient& client) {
  HttpResponse r = client.roundTrip(HttpClient::buildRequest("GET", "/", {{"Host", "x"}}),
                                    ReadOptions::within(3s));
  return r.ok() && r.status == 200;
}

TEST(ListenerLimitsTest, MaxConnectionsHoldsAcrossWorkers) {
  TestBackend backend("a");
  Gateway gateway;
  ASSERT_TRUE(gateway.start(kConfig, {{"BACKEND", backend.address()}}));
  const std::string rejected = "switchyard_downstream_connections_rejected_total{listener=\"web\"}";
  EXPECT_EQ(metricSample(gateway.adminPort(), rejected), 0);

  std::vector<std::unique_ptr<HttpClient>> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(std::make_unique<HttpClient>());
    ASSERT_TRUE(held.back()->connect(gateway.port()));
    ASSERT_TRUE(answered(*held.back())) << "connection " << i;
  }
  // Each attempt has its own source port, so the kernel spreads them over both workers; every
  // one is over the limit of the listener, whichever worker took it (with a per-worker count,
  // the worker holding fewer than 3 would answer).
  constexpr int kAttempts = 8;
  for (int i = 0; i < kAttempts; ++i) {
    HttpClient extra;
    ASSERT_TRUE(extra.connect(gateway.port()));  // the kernel accepts; the gateway closes it
    EXPECT_TRUE(extra.waitForClose(3s)) << "attempt " << i;
  }
  EXPECT_TRUE(
      eventually([&] { return metricSample(gateway.adminPort(), rejected) == kAttempts; }, 5s))
      << metricSample(gateway.adminPort(), rejected);
  EXPECT_EQ(
      metricSample(gateway.adminPort(), "switchyard_downstream_connections_open{listener=\"web\"}"),
      3);

  // A connection that closes frees its slot, for a client of either worker.
  held.front()->close();
  EXPECT_TRUE(eventually(
      [&] {
        // Until the close is seen, this one is refused (closed before any response byte).
        HttpClient again;
        return again.connect(gateway.port()) && answered(again);
      },
      5s));
  for (size_t i = 1; i < held.size(); ++i) EXPECT_TRUE(answered(*held[i])) << i;
}

}  // namespace
}  // namespace switchyard::support
