// The promises while tasks move, with the configuration a new user writes: a listener, a route,
// one serverset cluster, everything else default (the README's minimal example). Real ZooKeeper,
// real nginx instances (one process each, so a freeze is a real SIGSTOP), four steady clients.
// Each scenario asserts no failed request, no request over a second, and, for a deploy, that
// every new instance serves within 2 s of its port listening.

#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/eventually.h"
#include "tests/support/free_port.h"
#include "tests/support/gateway.h"
#include "tests/support/http_client.h"
#include "tests/support/load_loop.h"
#include "tests/support/nginx_server.h"
#include "tests/support/zk_test_client.h"
#include "tests/support/zookeeper_server.h"

namespace switchyard::support {
namespace {

using namespace std::chrono_literals;
using SteadyTime = std::chrono::steady_clock::time_point;

// The README's minimal configuration, pointed at the test's ZooKeeper and ports.
constexpr const char* kMinimalConfig = R"(
zookeeper:
  servers: "${ZK}"
listeners:
  - name: web
    address: "127.0.0.1:${LISTEN}"
    routes:
      - match: { path_prefix: "/" }
        cluster: web
clusters:
  - name: web
    discovery: { serverset: "/aurora/www-data/prod/web" }
admin:
  address: "127.0.0.1:${ADMIN}"
)";

constexpr const char* kWeb = "/aurora/www-data/prod/web";
constexpr int kClients = 4;

std::string member(uint16_t port) {
  return nlohmann::json{
      {"serviceEndpoint", {{"host", "127.0.0.1"}, {"port", port}}},
      {"additionalEndpoints", {{"http", {{"host", "127.0.0.1"}, {"port", port}}}}},
      {"status", "ALIVE"},
      {"shard", 0}}
      .dump();
}

// One instance: a port, its member in ZooKeeper, and (once started) an nginx on the port.
struct Instance {
  std::string name;
  uint16_t port = 0;
  std::string member;  // znode path
  std::unique_ptr<NginxServer> nginx;
  SteadyTime listening_since{};
};

class DeployDefaultsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(zk_.start());
    ASSERT_TRUE(client_.connect(zk_.connectString()));
    ASSERT_TRUE(client_.createPath(kWeb));
  }
  void TearDown() override {
    for (auto& i : instances_)
      if (i.nginx) i.nginx->signal(SIGCONT);  // a frozen one must be able to exit
  }

  // Announces a new instance (its port not listening yet); returns its index.
  size_t announce(const std::string& name) {
    Instance i;
    i.name = name;
    i.port = freeLoopbackPort();
    auto created = client_.create(std::string(kWeb) + "/member_", member(i.port),
                                  ZkNodeMode::kEphemeralSequential);
    EXPECT_TRUE(created.ok()) << created.error().message;
    i.member = created.ok() ? created.value() : std::string();
    instances_.push_back(std::move(i));
    return instances_.size() - 1;
  }
  // Starts the instance's nginx: it answers every request 200 with its name in x-backend.
  ::testing::AssertionResult listen(size_t index) {
    Instance& i = instances_[index];
    i.nginx = std::make_unique<NginxServer>();
    const std::string server = "server { listen 127.0.0.1:" + std::to_string(i.port) +
                               "; keepalive_requests 100000; location / { add_header x-backend " +
                               i.name + " always; return 200 \"hello from " + i.name + "\\n\"; } }";
    auto started = i.nginx->start(server, {i.port});
    i.listening_since = std::chrono::steady_clock::now();
    return started;
  }
  std::string address(size_t index) const {
    return "127.0.0.1:" + std::to_string(instances_[index].port);
  }

  // The instances of /clusters: address -> health.
  std::map<std::string, std::string> health() {
    HttpResponse r = HttpClient::get(gateway_.adminPort(), "/clusters", {}, 2s);
    std::map<std::string, std::string> out;
    if (!r.ok() || r.status != 200) return out;
    auto json = nlohmann::json::parse(r.body, nullptr, false);
    if (!json.contains("clusters")) return out;
    for (const auto& c : json["clusters"])
      for (const auto& i : c["instances"])
        if (i["status"] == "alive") out[i["address"].get<std::string>()] = i["health"];
    return out;
  }
  bool routed(size_t index, bool expected) {
    return eventually([&] { return health().count(address(index)) == (expected ? 1u : 0u); }, 10s);
  }

  void startLoad() {
    for (int c = 0; c < kClients; ++c)
      load_.push_back(std::make_unique<LoadLoop>(gateway_.port(), "/", 1ms));
  }
  bool waitForSuccesses(uint64_t n, std::chrono::milliseconds bound) {
    const uint64_t target = succeeded() + n;
    return eventually([&] { return succeeded() >= target; }, bound);
  }
  uint64_t succeeded() const {
    uint64_t n = 0;
    for (const auto& l : load_) n += l->succeeded();
    return n;
  }
  // Stops the clients; every request answered 2xx, none slower than LoadLoop::kSlow.
  ::testing::AssertionResult stopLoadAndCheck() {
    uint64_t sent = 0, failed = 0, slow = 0;
    auto longest = 0ms;
    std::vector<std::string> failures;
    for (auto& l : load_) {
      l->stop();
      sent += l->sent();
      failed += l->failed();
      slow += l->slow();
      longest = std::max(longest, l->longest());
      for (auto& f : l->failures()) failures.push_back(f);
    }
    if (failed == 0 && slow == 0 && sent > 0) return ::testing::AssertionSuccess();
    auto r = ::testing::AssertionFailure() << failed << " of " << sent << " failed, " << slow
                                           << " over 1 s (longest " << longest.count() << " ms)";
    for (const auto& f : failures) r << "\n  " << f;
    return r;
  }
  // When instance `name` first answered any client, if it did.
  std::optional<SteadyTime> firstAnswer(const std::string& name) {
    std::optional<SteadyTime> first;
    for (const auto& l : load_) {
      auto answers = l->firstAnswers();
      auto it = answers.find(name);
      if (it != answers.end() && (!first || it->second < *first)) first = it->second;
    }
    return first;
  }

  void startWithInstances(int n) {
    for (int i = 0; i < n; ++i) {
      const size_t index = announce("v1-" + std::to_string(i));
      ASSERT_TRUE(listen(index));
    }
    ASSERT_TRUE(gateway_.start(kMinimalConfig, {{"ZK", zk_.connectString()}}));
    for (int i = 0; i < n; ++i) ASSERT_TRUE(routed(static_cast<size_t>(i), true));
    startLoad();
    ASSERT_TRUE(waitForSuccesses(400, 20s));
  }

  ZooKeeperServer zk_;
  ZkTestClient client_;
  Gateway gateway_;
  std::vector<Instance> instances_;
  std::vector<std::unique_ptr<LoadLoop>> load_;
};

TEST_F(DeployDefaultsTest, ARollingDeployAnnouncedBeforeListeningKeepsEveryNewInstanceInRotation) {
  ASSERT_NO_FATAL_FAILURE(startWithInstances(4));
  for (size_t old = 0; old < 4; ++old) {
    // As Aurora's executor does: the member is written about a second before the port listens.
    const auto announced = std::chrono::steady_clock::now();
    const size_t fresh = announce("v2-" + std::to_string(old));
    // The clients' requests reach it and are refused meanwhile: it is "starting", not ejected.
    EXPECT_TRUE(eventually([&] { return health()[address(fresh)] == "starting"; }, 3s))
        << "health: " << health()[address(fresh)];
    std::this_thread::sleep_until(announced + 1s);  // the scenario's own second, not a wait
    ASSERT_TRUE(listen(fresh));
    // Then the old task is deregistered, drained, and stopped.
    ASSERT_TRUE(client_.remove(instances_[old].member));
    ASSERT_TRUE(routed(old, false));
    ASSERT_TRUE(waitForSuccesses(200, 20s));
    instances_[old].nginx->signal(SIGTERM);
    ASSERT_TRUE(waitForSuccesses(200, 20s));
  }
  // Every new instance answered within 2 s of listening.
  ASSERT_TRUE(eventually(
      [&] {
        for (size_t i = 4; i < 8; ++i)
          if (!firstAnswer(instances_[i].name)) return false;
        return true;
      },
      5s));
  // Every worker has reached every new instance: none is left "starting".
  EXPECT_TRUE(eventually(
      [&] {
        auto h = health();
        for (size_t i = 4; i < 8; ++i)
          if (h[address(i)] != "healthy") return false;
        return true;
      },
      5s));
  EXPECT_TRUE(stopLoadAndCheck());
  for (size_t i = 4; i < 8; ++i) {
    auto first = firstAnswer(instances_[i].name);
    ASSERT_TRUE(first) << instances_[i].name << " never answered";
    EXPECT_LT(*first - instances_[i].listening_since, 2s)
        << instances_[i].name << " answered its first request "
        << std::chrono::duration_cast<std::chrono::milliseconds>(*first -
                                                                 instances_[i].listening_since)
               .count()
        << " ms after it began listening";
  }
}

TEST_F(DeployDefaultsTest, AFrozenMachineCostsNoRequest) {
  ASSERT_NO_FATAL_FAILURE(startWithInstances(4));
  ASSERT_TRUE(waitForSuccesses(1000, 20s));  // traffic is steady: the cluster's latency known
  // SIGSTOP: the kernel keeps its connections open and completes new handshakes; nothing
  // answers. Its member stays, as it would until its ZooKeeper session expired.
  instances_[1].nginx->signal(SIGSTOP);
  const auto frozen = std::chrono::steady_clock::now();
  ASSERT_TRUE(waitForSuccesses(1000, 30s));
  std::this_thread::sleep_until(frozen + 5s);  // the freeze lasts 5 s under load
  // Found without ZooKeeper: ejected by its timeouts.
  EXPECT_EQ(health()[address(1)], "ejected");
  // Then its session expires (the member goes) and the machine thaws.
  ASSERT_TRUE(client_.remove(instances_[1].member));
  ASSERT_TRUE(routed(1, false));
  instances_[1].nginx->signal(SIGCONT);
  ASSERT_TRUE(waitForSuccesses(200, 20s));
  EXPECT_TRUE(stopLoadAndCheck());
}

TEST_F(DeployDefaultsTest, AKilledMachineCostsNoRequest) {
  ASSERT_NO_FATAL_FAILURE(startWithInstances(4));
  // kill -9: its connections are reset, new ones refused; its member stays until its session
  // would expire.
  instances_[2].nginx->signal(SIGKILL);
  const auto killed = std::chrono::steady_clock::now();
  ASSERT_TRUE(waitForSuccesses(1000, 30s));
  std::this_thread::sleep_until(killed + 3s);
  EXPECT_EQ(health()[address(2)], "ejected");
  EXPECT_TRUE(stopLoadAndCheck());
}

}  // namespace
}  // namespace switchyard::support
