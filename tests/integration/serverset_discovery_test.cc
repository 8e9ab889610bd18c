// ServerSet discovery end to end: a real ZooKeeper server, members written by a separate client
// (as Aurora's executor would), the real switchyard binary and real backends. Members added,
// removed, changed and leaving ALIVE; a path created after start; the Curator and Nerve formats;
// garbage members beside good ones; a re-join under a new znode name; a set that empties.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

#include "tests/support/eventually.h"
#include "tests/support/gateway.h"
#include "tests/support/http_client.h"
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
      - match: { host: "curator" }
        cluster: curator
      - match: { host: "nerve" }
        cluster: nerve
      - match: { path_prefix: "/" }
        cluster: web
clusters:
  - name: web
    discovery: { serverset: "/aurora/www-data/prod/web", endpoint: http }
    slow_start_ms: 0  # what is tested here is membership: a new member takes its share at once
  - name: curator
    discovery: { serverset: "/services/checkout", format: curator }
  - name: nerve
    discovery: { serverset: "/nerve/services/web", format: nerve }
admin:
  address: "127.0.0.1:${ADMIN}"
)";

constexpr const char* kWeb = "/aurora/www-data/prod/web";

// A member as Aurora's executor writes it: the routed endpoint is the additional "http" one.
std::string auroraMember(int port, const std::string& status = "ALIVE", int shard = 0,
                         const std::string& host = "127.0.0.1") {
  nlohmann::json http = {{"host", host}, {"port", port}};
  nlohmann::json member = {{"serviceEndpoint", {{"host", host}, {"port", 1}}},
                           {"additionalEndpoints", {{"http", http}, {"aurora", http}}},
                           {"status", status},
                           {"shard", shard}};
  return member.dump();
}

class ServerSetDiscoveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(zk_.start());
    ASSERT_TRUE(client_.connect(zk_.connectString()));
    for (const char* path : {kWeb, "/services/checkout", "/nerve/services/web"})
      ASSERT_TRUE(client_.createPath(path));
  }

  void startGateway() { ASSERT_TRUE(gateway_.start(kConfig, {{"ZK", zk_.connectString()}})); }

  std::string addMember(const std::string& data, const std::string& parent = kWeb) {
    auto created = client_.create(parent + "/member_", data, ZkNodeMode::kPersistentSequential);
    EXPECT_TRUE(created.ok()) << created.error().message;
    return created.ok() ? created.value() : std::string();
  }

  nlohmann::json clusters() {
    HttpResponse r = HttpClient::get(gateway_.adminPort(), "/clusters");
    if (!r.ok() || r.status != 200) return nlohmann::json::object();
    return nlohmann::json::parse(r.body, nullptr, false);
  }

  // The addresses the gateway routes to in `cluster`, sorted.
  std::set<std::string> routable(const std::string& cluster) {
    std::set<std::string> out;
    auto json = clusters();
    if (!json.contains("clusters")) return out;
    for (const auto& c : json["clusters"])
      if (c["name"] == cluster)
        for (const auto& i : c["instances"])
          if (i["status"] == "alive") out.insert(i["address"].get<std::string>());
    return out;
  }

  bool routesExactly(const std::string& cluster, std::set<std::string> expected) {
    return eventually([&] { return routable(cluster) == expected; }, 10s);
  }

  // Backends that answered n requests on fresh connections (Host picks the cluster).
  std::set<std::string> answering(int n, const std::string& host = "web") {
    std::set<std::string> names;
    for (int i = 0; i < n; ++i) {
      HttpResponse r = HttpClient::get(gateway_.port(), "/", {{"Host", host}});
      EXPECT_TRUE(r.ok() && r.status == 200) << r.describe();
      names.insert(r.header("x-backend"));
    }
    return names;
  }

  std::string metrics() { return HttpClient::get(gateway_.adminPort(), "/metrics").body; }

  ZooKeeperServer zk_;
  ZkTestClient client_;
  Gateway gateway_;
};

TEST_F(ServerSetDiscoveryTest, FollowsMembersAddedRemovedChangedAndLeavingAlive) {
  TestBackend b1("b1"), b2("b2"), b3("b3");
  const std::string m1 = addMember(auroraMember(b1.port(), "ALIVE", 0));
  const std::string m2 = addMember(auroraMember(b2.port(), "ALIVE", 1));
  startGateway();  // returns once /ready: every set was read once
  EXPECT_EQ(routable("web"), (std::set<std::string>{b1.address(), b2.address()}));
  EXPECT_EQ(answering(6), (std::set<std::string>{"b1", "b2"}));

  // Added.
  const std::string m3 = addMember(auroraMember(b3.port(), "ALIVE", 2));
  ASSERT_TRUE(routesExactly("web", {b1.address(), b2.address(), b3.address()}));
  EXPECT_EQ(answering(9), (std::set<std::string>{"b1", "b2", "b3"}));

  // Removed.
  ASSERT_TRUE(client_.remove(m1));
  ASSERT_TRUE(routesExactly("web", {b2.address(), b3.address()}));
  EXPECT_EQ(answering(6), (std::set<std::string>{"b2", "b3"}));

  // Leaving ALIVE drains like a removal.
  ASSERT_TRUE(client_.set(m2, auroraMember(b2.port(), "STOPPING", 1)));
  ASSERT_TRUE(routesExactly("web", {b3.address()}));
  EXPECT_EQ(answering(4), (std::set<std::string>{"b3"}));

  // Changed: the member now announces b1's port.
  ASSERT_TRUE(client_.set(m3, auroraMember(b1.port(), "ALIVE", 2)));
  ASSERT_TRUE(routesExactly("web", {b1.address()}));
  EXPECT_EQ(answering(4), (std::set<std::string>{"b1"}));
  EXPECT_NE(metrics().find("switchyard_zookeeper_connected 1"), std::string::npos);
}

TEST_F(ServerSetDiscoveryTest, WatchesAPathThatDoesNotExistYet) {
  ASSERT_TRUE(client_.removeRecursive("/aurora"));
  startGateway();  // a missing path is a read: ready, with no instance
  HttpResponse r = HttpClient::get(gateway_.port(), "/");
  EXPECT_EQ(r.status, 503) << r.describe();
  EXPECT_EQ(r.header("x-switchyard-error"), "no-healthy-instance") << r.describe();

  TestBackend b1("b1");
  ASSERT_TRUE(client_.createPath(kWeb));
  addMember(auroraMember(b1.port()));
  ASSERT_TRUE(routesExactly("web", {b1.address()}));
  EXPECT_EQ(answering(2), (std::set<std::string>{"b1"}));
}

TEST_F(ServerSetDiscoveryTest, ReadsCuratorAndNerveMembers) {
  TestBackend curator("curator-1"), nerve("nerve-1");
  nlohmann::json curator_member = {{"name", "checkout"},
                                   {"id", "4b1f0c9e-8d2a-4c51-9d3e-2b7f6a1c0e55"},
                                   {"address", "127.0.0.1"},
                                   {"port", curator.port()},
                                   {"sslPort", nullptr},
                                   {"serviceType", "DYNAMIC"}};
  ASSERT_TRUE(client_.create("/services/checkout/4b1f0c9e-8d2a-4c51-9d3e-2b7f6a1c0e55",
                             curator_member.dump()).ok());
  nlohmann::json nerve_member = {
      {"host", "127.0.0.1"}, {"port", nerve.port()}, {"name", "i-0abc123"}, {"weight", 1}};
  ASSERT_TRUE(client_.create("/nerve/services/web/i-0abc123_0000000003", nerve_member.dump()).ok());
  startGateway();
  EXPECT_EQ(routable("curator"), (std::set<std::string>{curator.address()}));
  EXPECT_EQ(routable("nerve"), (std::set<std::string>{nerve.address()}));
  EXPECT_EQ(answering(2, "curator"), (std::set<std::string>{"curator-1"}));
  EXPECT_EQ(answering(2, "nerve"), (std::set<std::string>{"nerve-1"}));
}

TEST_F(ServerSetDiscoveryTest, SkipsAndCountsGarbageMembersWhileTheGoodOnesServe) {
  TestBackend good("good");
  addMember(auroraMember(good.port()));
  addMember("{\"serviceEndpoint\": {\"host\": \"127.0.0.1\", \"port\": 80");  // truncated JSON
  addMember(R"({"serviceEndpoint": {"host": "127.0.0.1"}, "status": "ALIVE"})");  // no port
  addMember(auroraMember(0));
  addMember(auroraMember(70000));
  addMember(auroraMember(good.port() + 1, "RESURRECTED"));               // unknown status
  addMember(std::string(1000 * 1000, 'x'));                              // ~1 MB of data
  addMember(auroraMember(good.port(), "ALIVE", 3, "no-such-host.invalid"));  // unresolvable
  ASSERT_TRUE(client_.create(std::string(kWeb) + "/not_a_member", auroraMember(1)).ok());
  startGateway();

  EXPECT_EQ(routable("web"), (std::set<std::string>{good.address()}));
  EXPECT_EQ(answering(4), (std::set<std::string>{"good"}));
  const std::string text = metrics();
  for (const char* reason :
       {"bad_json", "no_endpoint", "bad_port", "unknown_status", "too_large", "unresolvable"})
    EXPECT_NE(text.find(std::string("switchyard_discovery_rejected_members_total{cluster=\"web\","
                                     "reason=\"") + reason + "\"}"),
              std::string::npos)
        << reason << " not counted in:\n" << text;
  // Fixed, a member serves.
  TestBackend late("late");
  addMember(auroraMember(late.port()));
  ASSERT_TRUE(routesExactly("web", {good.address(), late.address()}));
}

TEST_F(ServerSetDiscoveryTest, AMemberThatRejoinsUnderANewNameIsTheSameInstance) {
  TestBackend b1("b1");
  const std::string old_name = addMember(auroraMember(b1.port()));
  startGateway();
  // One kept-alive client connection: the gateway's upstream connection to b1 is pooled.
  HttpClient client;
  ASSERT_TRUE(client.connect(gateway_.port()));
  HttpResponse r = client.roundTrip(HttpClient::buildRequest("GET", "/"));
  ASSERT_TRUE(r.ok() && r.status == 200) << r.describe();
  ASSERT_EQ(b1.connectionCount(), 1u);

  // The writer's session expired: it re-joins under a new name, then its old node goes.
  addMember(auroraMember(b1.port()));
  ASSERT_TRUE(client_.remove(old_name));
  ASSERT_TRUE(eventually(
      [&] {
        auto json = clusters();
        for (const auto& c : json["clusters"])
          if (c["name"] == "web") return c["instances"].size() == 1;
        return false;
      },
      5s));
  EXPECT_EQ(routable("web"), (std::set<std::string>{b1.address()}));
  // No drain happened: the pooled upstream connection carries the next request.
  r = client.roundTrip(HttpClient::buildRequest("GET", "/"));
  ASSERT_TRUE(r.ok() && r.status == 200) << r.describe();
  EXPECT_EQ(b1.connectionCount(), 1u);
}

TEST_F(ServerSetDiscoveryTest, ASetThatSuddenlyEmptiesKeepsItsInstancesUntilMembersReturn) {
  TestBackend b1("b1"), b2("b2");
  const std::string m1 = addMember(auroraMember(b1.port()));
  const std::string m2 = addMember(auroraMember(b2.port()));
  startGateway();
  ASSERT_TRUE(client_.remove(m1));
  ASSERT_TRUE(routesExactly("web", {b2.address()}));
  // The last member goes while the session is healthy: suspicious, b2 stays.
  ASSERT_TRUE(client_.remove(m2));
  ASSERT_TRUE(eventually(
      [&] {
        return metrics().find("switchyard_discovery_holding_previous{cluster=\"web\"} 1") !=
               std::string::npos;
      },
      10s));
  EXPECT_EQ(routable("web"), (std::set<std::string>{b2.address()}));
  EXPECT_EQ(answering(3), (std::set<std::string>{"b2"}));
  // Members return: the set is what they say.
  addMember(auroraMember(b1.port()));
  ASSERT_TRUE(routesExactly("web", {b1.address()}));
  EXPECT_NE(metrics().find("switchyard_discovery_holding_previous{cluster=\"web\"} 0"),
            std::string::npos);
}

TEST_F(ServerSetDiscoveryTest, ResolvesHostNames) {
  TestBackend b1("b1");
  addMember(auroraMember(b1.port(), "ALIVE", 0, "localhost"));
  startGateway();
  EXPECT_EQ(routable("web"), (std::set<std::string>{"localhost:" + std::to_string(b1.port())}));
  EXPECT_EQ(answering(2), (std::set<std::string>{"b1"}));
}

}  // namespace
}  // namespace switchyard::support
