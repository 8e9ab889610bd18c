// The promises of docs/behaviour-under-churn.md, end to end: a real ZooKeeper, members
// written as Aurora's executor writes them, the real gateway under steady load from a real
// client, real backends. A rolling deploy of every instance, an instance dying without
// deregistering, SIGHUP and SIGTERM of the gateway itself: no failed request.

#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <future>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>
#include <vector>

#include "tests/support/eventually.h"
#include "tests/support/gateway.h"
#include "tests/support/http_client.h"
#include "tests/support/load_loop.h"
#include "tests/support/test_backend.h"
#include "tests/support/zk_test_client.h"
#include "tests/support/zookeeper_server.h"

namespace switchyard::support {
namespace {

using namespace std::chrono_literals;

constexpr const char* kConfig = R"(
zookeeper:
  servers: "${ZK}"
  session_timeout_ms: 4000
workers: 2
listeners:
  - name: web
    address: "127.0.0.1:${LISTEN}"
    routes:
      - match: { path_prefix: "/" }
        cluster: web
clusters:
  - name: web
    discovery: { serverset: "/aurora/www-data/prod/web" }
    load_balancer: ${LB}
    drain_timeout_ms: ${DRAIN}
    # A machine that dies may leave connections open with nobody behind them (TestBackend::stop
    # can leave one whose accept had completed): the per-try timeout moves those requests on.
    retries: { attempts: 2, per_try_timeout_ms: ${PER_TRY} }
admin:
  address: "127.0.0.1:${ADMIN}"
)";

constexpr const char* kWeb = "/aurora/www-data/prod/web";

std::string member(uint16_t port) {
  return nlohmann::json{{"serviceEndpoint", {{"host", "127.0.0.1"}, {"port", port}}},
                        {"status", "ALIVE"}}
      .dump();
}

::testing::AssertionResult noFailures(const LoadLoop& load) {
  if (load.failed() == 0) return ::testing::AssertionSuccess();
  auto r = ::testing::AssertionFailure() << load.failed() << " of " << load.sent() << " failed:";
  for (const auto& f : load.failures()) r << "\n  " << f;
  return r;
}

class DeploySafetyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(zk_.start());
    ASSERT_TRUE(client_.connect(zk_.connectString()));
    ASSERT_TRUE(client_.createPath(kWeb));
  }

  void startGateway(const std::string& lb = "round_robin", const std::string& drain = "30000",
                    const std::string& per_try = "1000") {
    ASSERT_TRUE(gateway_.start(
        kConfig,
        {{"ZK", zk_.connectString()}, {"LB", lb}, {"DRAIN", drain}, {"PER_TRY", per_try}}));
  }

  // Starts a backend and announces it; returns its index.
  size_t addInstance(const std::string& name) {
    backends_.push_back(std::make_unique<TestBackend>(name));
    auto created = client_.create(std::string(kWeb) + "/member_", member(backends_.back()->port()),
                                  ZkNodeMode::kEphemeralSequential);
    EXPECT_TRUE(created.ok()) << created.error().message;
    members_.push_back(created.ok() ? created.value() : std::string());
    return backends_.size() - 1;
  }

  // The addresses the gateway routes to (status alive).
  std::set<std::string> routable() {
    HttpResponse r = HttpClient::get(gateway_.adminPort(), "/clusters", {}, 2s);
    std::set<std::string> out;
    if (!r.ok() || r.status != 200) return out;
    auto json = nlohmann::json::parse(r.body, nullptr, false);
    if (!json.contains("clusters")) return out;
    for (const auto& c : json["clusters"])
      for (const auto& i : c["instances"])
        if (i["status"] == "alive") out.insert(i["address"].get<std::string>());
    return out;
  }

  bool routes(const std::string& address, bool expected) {
    return eventually([&] { return routable().count(address) == (expected ? 1u : 0u); }, 10s);
  }

  ZooKeeperServer zk_;
  ZkTestClient client_;
  Gateway gateway_;
  std::vector<std::unique_ptr<TestBackend>> backends_;
  std::vector<std::string> members_;
};

TEST_F(DeploySafetyTest, ARollingDeployOfEveryInstanceUnderLoadFailsNoRequest) {
  for (int i = 0; i < 4; ++i) addInstance("v1-" + std::to_string(i));
  startGateway("p2c_ewma");
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(routes(backends_[i]->address(), true));
  LoadLoop load(gateway_.port());
  ASSERT_TRUE(load.waitForSuccesses(100, 20s));
  for (size_t old = 0; old < 4; ++old) {
    // As Aurora does: the new task is announced (it may be cold), the old one deregistered,
    // then stopped while the gateway may still have requests or connections on it.
    const size_t fresh = addInstance("v2-" + std::to_string(old));
    ASSERT_TRUE(routes(backends_[fresh]->address(), true));
    ASSERT_TRUE(client_.remove(members_[old]));
    ASSERT_TRUE(routes(backends_[old]->address(), false));
    ASSERT_TRUE(load.waitForSuccesses(50, 20s));
    backends_[old]->stop();
    ASSERT_TRUE(load.waitForSuccesses(50, 20s));
  }
  load.stop();
  EXPECT_TRUE(noFailures(load));
  for (size_t i = 4; i < 8; ++i) EXPECT_GT(backends_[i]->requestCount(), 0u);
}

TEST_F(DeploySafetyTest, AnInstanceDyingWithoutDeregisteringFailsNoGet) {
  for (int i = 0; i < 4; ++i) addInstance("b" + std::to_string(i));
  startGateway();
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(routes(backends_[i]->address(), true));
  LoadLoop load(gateway_.port());
  ASSERT_TRUE(load.waitForSuccesses(200, 20s));
  // Killed: its listener and every connection (pooled ones included) go at once; its member
  // stays in ZooKeeper until its session would expire.
  backends_[1]->stop();
  ASSERT_TRUE(load.waitForSuccesses(300, 30s))
      << noFailures(load).message() << " sent " << load.sent();
  load.stop();
  EXPECT_TRUE(noFailures(load));
  EXPECT_TRUE(routable().count(backends_[1]->address())) << "the test needs it still announced";
}

TEST_F(DeploySafetyTest, SighupUnderLoadFailsNoRequest) {
  for (int i = 0; i < 3; ++i) addInstance("b" + std::to_string(i));
  startGateway();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(routes(backends_[i]->address(), true));
  LoadLoop load(gateway_.port());
  ASSERT_TRUE(load.waitForSuccesses(100, 20s));
  const std::string original = gateway_.config();
  for (int i = 0; i < 6; ++i) {
    // A real change each time (the drain timeout), then a reload.
    std::string next = original;
    const std::string from = "drain_timeout_ms: 30000";
    next.replace(next.find(from), from.size(), "drain_timeout_ms: " + std::to_string(20000 + i));
    std::ofstream(gateway_.process().configPath(), std::ios::trunc) << next;
    gateway_.process().sendSignal(SIGHUP);
    ASSERT_TRUE(load.waitForSuccesses(50, 20s));
  }
  load.stop();
  EXPECT_TRUE(noFailures(load));
  const std::string log = gateway_.process().stderrText() + gateway_.process().stdoutText();
  EXPECT_NE(log.find("reload applied"), std::string::npos) << log;
}

TEST_F(DeploySafetyTest, SigtermUnderLoadAnswersEveryAcceptedRequest) {
  for (int i = 0; i < 2; ++i) {
    addInstance("b" + std::to_string(i));
    backends_.back()->setBehavior(BackendBehavior::delayed(400ms));
  }
  startGateway();
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(routes(backends_[i]->address(), true));
  LoadLoop load(gateway_.port());
  // Requests in flight on their own connections when the signal comes.
  constexpr int kInFlight = 8;
  std::vector<std::future<HttpResponse>> in_flight;
  for (int i = 0; i < kInFlight; ++i)
    in_flight.push_back(std::async(std::launch::async, [port = gateway_.port()] {
      return HttpClient::get(port, "/", {}, 10s);
    }));
  ASSERT_TRUE(eventually(
      [&] { return backends_[0]->requestCount() + backends_[1]->requestCount() >= kInFlight; },
      10s));
  gateway_.process().sendSignal(SIGTERM);
  for (auto& f : in_flight) {
    HttpResponse r = f.get();
    EXPECT_EQ(r.status, 200) << r.describe();
  }
  const auto status = gateway_.process().waitExit(10s);
  load.stop();
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(*status, 0);
  // LoadLoop's requests: those accepted before the listener closed were answered; after it,
  // connections are refused. None was cut in the middle.
  for (const auto& f : load.failures())
    EXPECT_NE(f.find("connect"), std::string::npos) << "an accepted request failed: " << f;
}

TEST_F(DeploySafetyTest, ADepartedInstancesRequestsInFlightAreCutAtTheDrainTimeout) {
  addInstance("slow");
  backends_[0]->setBehavior(BackendBehavior::delayed(20s));
  addInstance("fast");
  startGateway("round_robin", "300", "30000");
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(routes(backends_[i]->address(), true));
  // Requests until one is held by the slow instance.
  std::vector<std::future<HttpResponse>> requests;
  for (int i = 0; i < 10 && backends_[0]->requestCount() == 0; ++i) {
    requests.push_back(std::async(std::launch::async, [port = gateway_.port()] {
      return HttpClient::get(port, "/", {}, 15s);
    }));
    // One at a time: each reaches an instance before the next is sent.
    ASSERT_TRUE(eventually(
        [&] {
          return backends_[0]->requestCount() + backends_[1]->requestCount() == requests.size();
        },
        5s));
  }
  ASSERT_EQ(backends_[0]->requestCount(), 1u);
  const auto removed = std::chrono::steady_clock::now();
  ASSERT_TRUE(client_.remove(members_[0]));
  bool cut = false;
  for (auto& f : requests) {
    HttpResponse r = f.get();
    if (r.header("x-backend") == "fast") continue;
    EXPECT_EQ(r.status, 504) << r.describe();
    EXPECT_EQ(r.header("x-switchyard-error"), "drain-timeout");
    cut = true;
  }
  EXPECT_TRUE(cut);
  EXPECT_LT(std::chrono::steady_clock::now() - removed, 10s) << "not cut at drain_timeout_ms";
}

}  // namespace
}  // namespace switchyard::support
