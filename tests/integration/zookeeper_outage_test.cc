// ZooKeeper trouble is not an outage (docs/behaviour-under-churn.md): the real gateway keeps
// routing to the last known sets while its ZooKeeper is down (longer than the session timeout) or
// while the server it is connected to dies, with traffic flowing and no failed request;
// afterwards it follows the sets again.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "tests/support/eventually.h"
#include "tests/support/gateway.h"
#include "tests/support/http_client.h"
#include "tests/support/load_loop.h"
#include "tests/support/test_backend.h"
#include "tests/support/zk_test_client.h"
#include "tests/support/zookeeper_ensemble.h"
#include "tests/support/zookeeper_server.h"

namespace switchyard::support {
namespace {

using namespace std::chrono_literals;

constexpr const char* kConfig = R"(
zookeeper:
  servers: "${ZK}"
  session_timeout_ms: 2000
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
admin:
  address: "127.0.0.1:${ADMIN}"
)";

constexpr const char* kWeb = "/aurora/www-data/prod/web";

std::string member(uint16_t port) {
  return nlohmann::json{{"serviceEndpoint", {{"host", "127.0.0.1"}, {"port", port}}},
                        {"status", "ALIVE"}}
      .dump();
}

nlohmann::json adminJson(Gateway& gateway, const std::string& path) {
  HttpResponse r = HttpClient::get(gateway.adminPort(), path, {}, 2s);
  if (!r.ok() || r.status != 200) return nlohmann::json::object();
  return nlohmann::json::parse(r.body, nullptr, false);
}

std::string zookeeperState(Gateway& gateway) {
  auto json = adminJson(gateway, "/clusters");
  if (!json.contains("zookeeper")) return "";
  return json["zookeeper"]["state"].get<std::string>();
}

std::set<std::string> routable(Gateway& gateway) {
  std::set<std::string> out;
  auto json = adminJson(gateway, "/clusters");
  if (!json.contains("clusters")) return out;
  for (const auto& i : json["clusters"][0]["instances"])
    if (i["status"] == "alive") out.insert(i["address"].get<std::string>());
  return out;
}

// Members are persistent nodes here: the test's own client loses its session too while the
// servers are down, and the members must outlive that.
std::string addMember(ZkTestClient& client, uint16_t port) {
  auto created =
      client.create(std::string(kWeb) + "/member_", member(port), ZkNodeMode::kPersistentSequential);
  EXPECT_TRUE(created.ok()) << created.error().message;
  return created.ok() ? created.value() : "";
}

TEST(ZooKeeperOutageTest, ServesThroughAZooKeeperDownLongerThanTheSessionTimeoutThenFollowsAgain) {
  ZooKeeperServer zk;
  ASSERT_TRUE(zk.start());
  TestBackend b1("b1"), b2("b2"), b3("b3");
  {
    ZkTestClient client;
    ASSERT_TRUE(client.connect(zk.connectString()));
    ASSERT_TRUE(client.createPath(kWeb));
    addMember(client, b1.port());
    addMember(client, b2.port());
  }
  Gateway gateway;
  ASSERT_TRUE(gateway.start(kConfig, {{"ZK", zk.connectString()}}));
  ASSERT_EQ(routable(gateway), (std::set<std::string>{b1.address(), b2.address()}));

  LoadLoop load(gateway.port());
  ASSERT_TRUE(load.waitForSuccesses(50, 10s));
  zk.stop();
  ASSERT_TRUE(eventually([&] { return zookeeperState(gateway) == "suspended"; }, 10s));
  // The outage itself: three session timeouts with nobody to talk to, traffic flowing.
  const auto outage_end = std::chrono::steady_clock::now() + 6s;
  while (std::chrono::steady_clock::now() < outage_end) {
    EXPECT_TRUE(load.waitForSuccesses(20, 10s));
    EXPECT_EQ(routable(gateway), (std::set<std::string>{b1.address(), b2.address()}));
  }
  EXPECT_NE(HttpClient::get(gateway.adminPort(), "/metrics").body.find(
                "switchyard_zookeeper_connected 0"),
            std::string::npos);

  ASSERT_TRUE(zk.start());
  ASSERT_TRUE(eventually([&] { return zookeeperState(gateway) == "connected"; }, 20s));
  // Following again: a change made now is applied (the watches are armed in whatever session
  // the gateway holds now, old or new).
  ZkTestClient client;
  ASSERT_TRUE(client.connect(zk.connectString()));
  addMember(client, b3.port());
  ASSERT_TRUE(eventually(
      [&] {
        return routable(gateway) == std::set<std::string>{b1.address(), b2.address(), b3.address()};
      },
      10s));
  ASSERT_TRUE(load.waitForSuccesses(50, 10s));
  load.stop();
  EXPECT_EQ(load.failed(), 0u) << "first failure: "
                               << (load.failures().empty() ? "" : load.failures().front());
  EXPECT_GT(load.byBackend()["b3"], 0u);
}

TEST(ZooKeeperOutageTest, ServesThroughTheDeathOfTheEnsembleServerItIsConnectedTo) {
  ZooKeeperEnsemble ensemble(3);
  ASSERT_TRUE(ensemble.start());
  TestBackend b1("b1"), b2("b2");
  ZkTestClient client;
  ASSERT_TRUE(client.connect(ensemble.connectString()));
  ASSERT_TRUE(client.createPath(kWeb));
  addMember(client, b1.port());

  Gateway gateway;
  ASSERT_TRUE(gateway.start(kConfig, {{"ZK", ensemble.connectString()}}));
  std::optional<size_t> connected_to;
  ASSERT_TRUE(eventually(
      [&] { return (connected_to = ensemble.serverConnectedFrom(gateway.process().pid())); },
      10s));

  LoadLoop load(gateway.port());
  ASSERT_TRUE(load.waitForSuccesses(50, 10s));
  ensemble.kill(*connected_to);
  // The client library moves to another server within the session timeout, keeping the session.
  ASSERT_TRUE(eventually(
      [&] {
        auto now = ensemble.serverConnectedFrom(gateway.process().pid());
        return now && *now != *connected_to && zookeeperState(gateway) == "connected";
      },
      20s));
  // And follows changes through it. The test's client may have been on the killed server too,
  // and a new leader's election drops clients once more: the write may need a second try (a
  // duplicate member of b2 would be the same instance).
  ASSERT_TRUE(eventually(
      [&] {
        return client.create(std::string(kWeb) + "/member_", member(b2.port()),
                             ZkNodeMode::kPersistentSequential)
            .ok();
      },
      20s));
  ASSERT_TRUE(eventually(
      [&] { return routable(gateway) == std::set<std::string>{b1.address(), b2.address()}; },
      10s));
  ASSERT_TRUE(load.waitForSuccesses(50, 10s));
  load.stop();
  EXPECT_EQ(load.failed(), 0u) << "first failure: "
                               << (load.failures().empty() ? "" : load.failures().front());
  auto clusters = adminJson(gateway, "/clusters");
  EXPECT_EQ(clusters["zookeeper"]["expirations"], 0) << clusters.dump();
}

}  // namespace
}  // namespace switchyard::support
