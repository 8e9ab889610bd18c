// Load-balancing policies end to end: the real switchyard binary, real backends on loopback.
// A header-hashed cluster (ring_hash and maglev) sends a user to the same backend whatever the
// connection and worker; p2c_ewma steers traffic away from a backend that answers slowly.
// Bounded by counts, not by latencies: the slow backend's share is what is asserted.

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>

#include "tests/support/gateway.h"
#include "tests/support/http_client.h"
#include "tests/support/test_backend.h"

namespace switchyard::support {
namespace {

using namespace std::chrono_literals;

// Two workers: connections land on either, and each has its own balancer state, so the same
// backend for a key means every worker built the same ring / table.
constexpr const char* kHashed = R"(
workers: 2
listeners:
  - name: web
    address: "127.0.0.1:${LISTEN}"
    protocol: http
    routes:
      - match: { path_prefix: "/ring/" }
        cluster: ring
      - match: { path_prefix: "/maglev/" }
        cluster: maglev
clusters:
  - name: ring
    discovery:
      static: [${WEB}]
    load_balancer: ring_hash
    hash_on: "header:X-User-Id"
  - name: maglev
    discovery:
      static: [${WEB}]
    load_balancer: maglev
    hash_on: "header:x-user-id"
admin:
  address: "127.0.0.1:${ADMIN}"
)";

TEST(LoadBalancingTest, HeaderHashedClustersSendAUserToTheSameBackend) {
  TestBackend b1("b1"), b2("b2"), b3("b3");
  Gateway gateway;
  ASSERT_TRUE(gateway.start(
      kHashed, {{"WEB", Gateway::addressList({b1.address(), b2.address(), b3.address()})}}));

  for (const std::string prefix : {"/ring/", "/maglev/"}) {
    std::map<std::string, std::string> backend_of;  // user -> backend
    std::set<std::string> used;
    for (int round = 0; round < 4; ++round) {
      for (int user = 0; user < 30; ++user) {
        const std::string id = "user-" + std::to_string(user);
        // A fresh connection each time: it may land on either worker.
        HttpResponse r = HttpClient::get(gateway.port(), prefix + "x", {{"X-User-Id", id}});
        ASSERT_TRUE(r.ok()) << prefix << " " << id << ": " << r.describe();
        ASSERT_EQ(r.status, 200) << r.describe();
        const std::string backend = r.header("x-backend");
        auto [it, first] = backend_of.emplace(id, backend);
        EXPECT_EQ(it->second, backend) << prefix << " " << id << " moved in round " << round;
        used.insert(backend);
      }
    }
    // Thirty users over three backends: all three are used (each has 1/3 of the keys).
    EXPECT_EQ(used.size(), 3u) << prefix;
    // A request without the key is still answered (picked by weight).
    HttpResponse r = HttpClient::get(gateway.port(), prefix + "x");
    ASSERT_TRUE(r.ok()) << r.describe();
    EXPECT_EQ(r.status, 200);
  }
}

constexpr const char* kP2c = R"(
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
    load_balancer: p2c_ewma
admin:
  address: "127.0.0.1:${ADMIN}"
)";

TEST(LoadBalancingTest, P2cEwmaAvoidsABackendThatAnswersSlowly) {
  TestBackend fast1("fast1"), fast2("fast2"), slow("slow");
  slow.setBehavior(BackendBehavior::delayed(100ms));
  Gateway gateway;
  ASSERT_TRUE(gateway.start(
      kP2c, {{"WEB", Gateway::addressList({fast1.address(), slow.address(), fast2.address()})}}));

  HttpClient c;
  ASSERT_TRUE(c.connect(gateway.port())) << c.lastError();
  const int requests = 400;
  std::map<std::string, int> hits;
  for (int i = 0; i < requests; ++i) {
    HttpResponse r = c.roundTrip(HttpClient::buildRequest("GET", "/"));
    ASSERT_TRUE(r.ok()) << r.describe();
    ASSERT_EQ(r.status, 200) << r.describe();
    ++hits[r.header("x-backend")];
  }
  // Round robin would give it a third. p2c_ewma tries it (a new endpoint costs nothing), then
  // sees a latency about a hundred times the others' and sends it little.
  EXPECT_GE(hits["slow"], 1);
  EXPECT_LT(hits["slow"], requests / 4)
      << "fast1 " << hits["fast1"] << ", fast2 " << hits["fast2"] << ", slow " << hits["slow"];
}

}  // namespace
}  // namespace switchyard::support
