// Active health checks end to end: the gateway GETs each instance's health path from its control
// thread; an instance failing unhealthy_after checks in a row gets no traffic until it passes
// healthy_after in a row; below the panic threshold every instance takes traffic again.

#include <gtest/gtest.h>

#include <atomic>
#include <map>

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
clusters:
  - name: web
    discovery: { static: [${BACKENDS}] }
    health_check: { path: /health, interval_ms: 100, timeout_ms: 500, unhealthy_after: 2, healthy_after: 2 }
    panic_threshold_percent: ${PANIC}
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

// Who answered `n` requests.
std::map<std::string, int> answering(uint16_t port, int n) {
  std::map<std::string, int> out;
  for (int i = 0; i < n; ++i) {
    HttpResponse r = HttpClient::get(port, "/");
    ++out[r.status == 200 ? r.header("x-backend") : "failed " + r.describe()];
  }
  return out;
}

TEST(HealthCheckTest, AnUnhealthyInstanceGetsNoTrafficUntilItPassesAgain) {
  CheckedBackend a("a"), b("b");
  Gateway gateway;
  ASSERT_TRUE(gateway.start(
      kConfig, {{"BACKENDS", Gateway::addressList({a.backend.address(), b.backend.address()})},
                {"PANIC", "50"}}));
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
                {"PANIC", "60"}}));
  b.sick = true;
  const uint64_t checks = b.checks;
  // Once b is unhealthy, 1 of 2 (50 %) is below 60 %: both still serve.
  ASSERT_TRUE(eventually([&] { return b.checks >= checks + 4; }, 10s));
  auto seen = answering(gateway.port(), 20);
  EXPECT_GT(seen["a"], 0);
  EXPECT_GT(seen["b"], 0);
  EXPECT_EQ(seen["a"] + seen["b"], 20);
}

}  // namespace
}  // namespace switchyard::support
