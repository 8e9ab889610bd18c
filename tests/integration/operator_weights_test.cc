// Operator weights end to end: a real ZooKeeper server, two real switchyard gateways watching it,
// real backends. A weight set on gateway A through its admin API is written to ZooKeeper in
// Finagle's vector format and applied by gateway B; a vector_ node written by another client (as
// Finagle tooling would) steers the traffic; weight 0 and drain take an instance out; the token
// is enforced; bad input changes nothing; ZooKeeper down answers 503; `switchyard ctl` drives a
// gateway.

#include <gtest/gtest.h>

#include <csignal>
#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/support/eventually.h"
#include "tests/support/gateway.h"
#include "tests/support/http_client.h"
#include "tests/support/run_command.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_backend.h"
#include "tests/support/zk_test_client.h"
#include "tests/support/zookeeper_server.h"

namespace switchyard::support {
namespace {

using namespace std::chrono_literals;
using Json = nlohmann::json;

constexpr const char* kWeb = "/aurora/www-data/prod/web";
constexpr const char* kToken = "s3cret-token";

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
    load_balancer: weighted_round_robin
weights:
  zookeeper_path: "${WEIGHTS}"
admin:
  address: "127.0.0.1:${ADMIN}"
  token_file: "${TOKEN_FILE}"
)";

std::string member(int port, int shard = 0) {
  nlohmann::json endpoint = {{"host", "127.0.0.1"}, {"port", port}};
  return nlohmann::json{{"serviceEndpoint", endpoint}, {"status", "ALIVE"}, {"shard", shard}}
      .dump();
}

HttpResponse post(uint16_t port, const std::string& target, const std::string& body,
                  const std::string& token = kToken) {
  HttpClient client;
  if (!client.connect(port)) return {};
  HeaderList headers = {{"Content-Type", "application/json"}, {"Connection", "close"}};
  if (!token.empty()) headers.push_back({"Authorization", "Bearer " + token});
  return client.roundTrip(HttpClient::buildRequest("POST", target, headers, body),
                          ReadOptions::within(20s));
}

// How many of n requests (fresh connections) each backend answered.
std::map<std::string, int> spread(Gateway& gateway, int n) {
  std::map<std::string, int> count;
  for (int i = 0; i < n; ++i) {
    HttpResponse r = HttpClient::get(gateway.port(), "/");
    EXPECT_TRUE(r.ok() && r.status == 200) << r.describe();
    ++count[r.header("x-backend")];
  }
  return count;
}

class OperatorWeightsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(zk_.start());
    ASSERT_TRUE(client_.connect(zk_.connectString()));
    ASSERT_TRUE(client_.createPath(kWeb));
    token_file_ = dir_.path() + "/admin.token";
    std::ofstream(token_file_) << kToken << "\n";
  }

  ::testing::AssertionResult start(Gateway& gateway, const std::string& weights_path) {
    return gateway.start(
        kConfig,
        {{"ZK", zk_.connectString()}, {"WEIGHTS", weights_path}, {"TOKEN_FILE", token_file_}});
  }

  void addMember(int port, int shard = 0) {
    auto created = client_.create(std::string(kWeb) + "/member_", member(port, shard),
                                  ZkNodeMode::kPersistentSequential);
    ASSERT_TRUE(created.ok()) << created.error().message;
    members_.push_back(created.value());
  }

  static Json instances(Gateway& gateway) {
    HttpResponse r = HttpClient::get(gateway.adminPort(), "/clusters");
    Json doc = Json::parse(r.body, nullptr, false);
    if (!r.ok() || r.status != 200 || doc.is_discarded()) return Json::object();
    Json out = Json::object();
    for (const auto& c : doc["clusters"])
      if (c["name"] == "web")
        for (const auto& i : c["instances"]) out[i["address"].get<std::string>()] = i;
    return out;
  }

  static std::optional<double> weightOf(Gateway& gateway, const std::string& address) {
    auto all = instances(gateway);
    if (!all.contains(address)) return std::nullopt;
    return all[address]["weight"].get<double>();
  }

  static bool weightBecomes(Gateway& gateway, const std::string& address, double weight) {
    return eventually([&] { return weightOf(gateway, address) == weight; }, 10s);
  }

  ZooKeeperServer zk_;
  ZkTestClient client_;
  TempDir dir_;
  std::string token_file_;
  std::vector<std::string> members_;
};

TEST_F(OperatorWeightsTest, AWeightSetOnOneGatewayIsAppliedByAnother) {
  TestBackend b1("b1"), b2("b2");
  addMember(b1.port(), 0);
  addMember(b2.port(), 1);
  Gateway a, b;
  ASSERT_TRUE(start(a, "/switchyard/weights"));
  ASSERT_TRUE(start(b, "/switchyard/weights"));

  // Weight 0 on A: written to ZooKeeper in Finagle's format, B sends b1 nothing.
  HttpResponse r = post(a.adminPort(), "/clusters/web/instances/" + b1.address() + "/weight",
                        R"({"weight": 0})");
  ASSERT_EQ(r.status, 200) << r.describe() << r.body;
  EXPECT_EQ(Json::parse(r.body)["shared"], "zookeeper:/switchyard/weights/web");
  auto node = client_.get("/switchyard/weights/web");
  ASSERT_TRUE(node.ok()) << node.error().message;
  EXPECT_EQ(Json::parse(node.value()),
            Json::parse(R"({"vector":[{"select":"inet=)" + b1.address() + R"(","weight":0.0}]})"));
  EXPECT_EQ(weightOf(a, b1.address()), 0.0);  // A applied it before answering
  const auto answered = std::chrono::steady_clock::now();
  ASSERT_TRUE(weightBecomes(b, b1.address(), 0.0));
  // For the record (polled every 10 ms through B's /clusters, so an upper bound).
  std::printf("weight propagation A -> ZooKeeper -> B: %.0f ms after A answered\n",
              std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - answered)
                  .count());
  EXPECT_EQ(spread(b, 40), (std::map<std::string, int>{{"b2", 40}}));

  // Two weights at once (one node written): 3 to 1 over 400 requests.
  r = post(a.adminPort(), "/clusters/web/weights",
           Json{{b1.address(), 3}, {b2.address(), 1}}.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_TRUE(weightBecomes(b, b1.address(), 3.0));
  ASSERT_TRUE(weightBecomes(b, b2.address(), 1.0));
  auto count = spread(b, 400);
  EXPECT_GE(count["b1"], 280) << count["b1"] << " of 400";
  EXPECT_LE(count["b1"], 320) << count["b1"] << " of 400";
  EXPECT_EQ(count["b1"] + count["b2"], 400);

  // A discovery change of b1 (a new shard) keeps the operator's weight.
  ASSERT_TRUE(client_.set(members_[0], member(b1.port(), 7)));
  ASSERT_TRUE(eventually([&] { return instances(b)[b1.address()].value("shard", -1) == 7; }, 10s));
  EXPECT_EQ(weightOf(b, b1.address()), 3.0);

  // A gateway started later reads the weights too.
  Gateway c;
  ASSERT_TRUE(start(c, "/switchyard/weights"));
  ASSERT_TRUE(weightBecomes(c, b1.address(), 3.0));
}

TEST_F(OperatorWeightsTest, ChangesInFlightTogetherAreAllKept) {
  TestBackend b1("b1"), b2("b2");
  addMember(b1.port(), 0);
  addMember(b2.port(), 1);
  Gateway a;
  ASSERT_TRUE(start(a, "/switchyard/weights"));
  // Both requests are sent before either answer is read: the second must build on the first.
  HttpClient c1, c2;
  ASSERT_TRUE(c1.connect(a.adminPort()));
  ASSERT_TRUE(c2.connect(a.adminPort()));
  const HeaderList headers = {{"Authorization", std::string("Bearer ") + kToken}};
  ASSERT_TRUE(c1.send(HttpClient::buildRequest(
      "POST", "/clusters/web/instances/" + b1.address() + "/weight", headers, R"({"weight":2})")));
  ASSERT_TRUE(c2.send(HttpClient::buildRequest(
      "POST", "/clusters/web/instances/" + b2.address() + "/weight", headers, R"({"weight":5})")));
  EXPECT_EQ(c1.readResponse().status, 200);
  EXPECT_EQ(c2.readResponse().status, 200);
  auto node = client_.get("/switchyard/weights/web");
  ASSERT_TRUE(node.ok()) << node.error().message;
  EXPECT_EQ(Json::parse(node.value())["vector"].size(), 2u) << node.value();
  EXPECT_EQ(weightOf(a, b1.address()), 2.0);
  EXPECT_EQ(weightOf(a, b2.address()), 5.0);
}

// Two gateways writing the one node of a cluster at the same time, each its own instances: every
// write is a read-modify-write with a versioned setData, so none is lost (with last-writer-wins,
// a gateway wrote its own view over the other's change made since its last read).
TEST_F(OperatorWeightsTest, TwoGatewaysChangingDifferentInstancesAtOnceLoseNothing) {
  // No traffic goes to these instances: they only need to be in the set.
  constexpr int kPerGateway = 8;
  std::vector<std::string> ids;
  for (int i = 0; i < 2 * kPerGateway; ++i) {
    addMember(21000 + i, i);
    ids.push_back("127.0.0.1:" + std::to_string(21000 + i));
  }
  Gateway a, b;
  ASSERT_TRUE(start(a, "/switchyard/weights"));
  ASSERT_TRUE(start(b, "/switchyard/weights"));
  ASSERT_TRUE(eventually([&] { return instances(a).size() == ids.size(); }, 10s));
  ASSERT_TRUE(eventually([&] { return instances(b).size() == ids.size(); }, 10s));

  // A sets the even instances, B the odd ones, interleaved in time: weight 2 + i for instance i.
  auto writer = [&](Gateway& g, int first, std::vector<unsigned>& statuses) {
    for (int i = first; i < 2 * kPerGateway; i += 2)
      statuses.push_back(post(g.adminPort(), "/clusters/web/instances/" + ids[i] + "/weight",
                              Json{{"weight", 2 + i}}.dump())
                             .status);
  };
  std::vector<unsigned> status_a, status_b;
  std::thread ta([&] { writer(a, 0, status_a); });
  std::thread tb([&] { writer(b, 1, status_b); });
  ta.join();
  tb.join();
  EXPECT_EQ(status_a, std::vector<unsigned>(kPerGateway, 200));
  EXPECT_EQ(status_b, std::vector<unsigned>(kPerGateway, 200));

  // Every change is in the node, and both gateways apply all of them.
  auto node = client_.get("/switchyard/weights/web");
  ASSERT_TRUE(node.ok()) << node.error().message;
  std::map<std::string, double> written;
  const Json doc = Json::parse(node.value());
  for (const auto& v : doc["vector"])
    written[v["select"].get<std::string>().substr(5)] = v["weight"].get<double>();
  std::map<std::string, double> expected;
  for (int i = 0; i < 2 * kPerGateway; ++i) expected[ids[i]] = 2 + i;
  EXPECT_EQ(written, expected) << node.value();
  for (Gateway* g : {&a, &b})
    for (int i = 0; i < 2 * kPerGateway; ++i)
      EXPECT_TRUE(weightBecomes(*g, ids[i], 2 + i))
          << ids[i] << " on gateway " << (g == &a ? "A" : "B");
}

TEST_F(OperatorWeightsTest, DrainAndUndrainSurviveDiscoveryAndReachEveryGateway) {
  TestBackend b1("b1"), b2("b2");
  addMember(b1.port(), 0);
  addMember(b2.port(), 1);
  Gateway a, b;
  ASSERT_TRUE(start(a, "/switchyard/weights"));
  ASSERT_TRUE(start(b, "/switchyard/weights"));
  const std::string instance = "/clusters/web/instances/" + b1.address();
  ASSERT_EQ(post(a.adminPort(), instance + "/weight", R"({"weight": 2})").status, 200);
  HttpResponse r = post(a.adminPort(), instance + "/drain", "");
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_TRUE(eventually(
      [&] { return instances(b)[b1.address()].value("status", "") == "draining"; }, 10s));
  auto drained = instances(b)[b1.address()];
  EXPECT_EQ(drained["weight"], 0.0);
  EXPECT_EQ(drained["operator_drained"], true);
  EXPECT_EQ(spread(b, 20), (std::map<std::string, int>{{"b2", 20}}));
  // The live page says so too.
  EXPECT_NE(HttpClient::get(b.adminPort(), "/").body.find("draining"), std::string::npos);

  // A discovery update of the drained member does not undrain it.
  ASSERT_TRUE(client_.set(members_[0], member(b1.port(), 5)));
  ASSERT_TRUE(eventually([&] { return instances(b)[b1.address()].value("shard", -1) == 5; }, 10s));
  EXPECT_EQ(instances(b)[b1.address()]["status"], "draining");

  // Undrain (on B this time) brings back the weight set before the drain, on A too.
  ASSERT_EQ(post(b.adminPort(), instance + "/undrain", "").status, 200);
  ASSERT_TRUE(weightBecomes(a, b1.address(), 2.0));
  EXPECT_EQ(instances(a)[b1.address()]["status"], "alive");
  auto count = spread(a, 60);
  EXPECT_EQ(count["b1"] + count["b2"], 60);
  EXPECT_GE(count["b1"], 35);
}

TEST_F(OperatorWeightsTest, FinagleVectorNodesWrittenByOthersSteerTraffic) {
  TestBackend b1("b1"), b2("b2");
  addMember(b1.port(), 0);
  addMember(b2.port(), 1);
  Gateway g;
  ASSERT_TRUE(start(g, "/switchyard/weights"));
  const std::string vector = std::string(kWeb) + "/vector_finagle";

  // Weight 0 by address drains.
  ASSERT_TRUE(
      client_.create(vector, R"({"vector":[{"select":"inet=)" + b1.address() + R"(","weight":0}]})")
          .ok());
  ASSERT_TRUE(weightBecomes(g, b1.address(), 0.0));
  EXPECT_EQ(spread(g, 20), (std::map<std::string, int>{{"b2", 20}}));

  // Selectors multiply across vectors: shard=1 times 3, and a second vector by member name
  // times 2 for b1 (replacing the drain).
  ASSERT_TRUE(client_.set(vector, R"({"vector":[{"select":"shard=1","weight":3}]})"));
  const std::string b1_member = members_[0].substr(members_[0].rfind('/') + 1);
  ASSERT_TRUE(client_
                  .create(std::string(kWeb) + "/vector_second",
                          R"({"vector":[{"select":"member=)" + b1_member +
                              R"(","weight":2},{"select":"shard=1","weight":0.5}]})")
                  .ok());
  ASSERT_TRUE(weightBecomes(g, b1.address(), 2.0));
  ASSERT_TRUE(weightBecomes(g, b2.address(), 1.5));

  // A malformed vector is skipped and counted; the others still apply.
  ASSERT_TRUE(client_
                  .create(std::string(kWeb) + "/vector_bad",
                          R"({"vector":[{"select":"colour=blue","weight":1}]})")
                  .ok());
  ASSERT_TRUE(eventually(
      [&] {
        return HttpClient::get(g.adminPort(), "/metrics").body.find("reason=\"bad_selector\"} 1") !=
               std::string::npos;
      },
      10s));
  EXPECT_EQ(weightOf(g, b1.address()), 2.0);

  // Removing the vectors brings back weight 1 for everyone.
  ASSERT_TRUE(client_.remove(vector));
  ASSERT_TRUE(client_.remove(std::string(kWeb) + "/vector_second"));
  ASSERT_TRUE(weightBecomes(g, b1.address(), 1.0));
  ASSERT_TRUE(weightBecomes(g, b2.address(), 1.0));
}

TEST_F(OperatorWeightsTest, ServerSetModeWritesAVectorChildThatFinagleReadsToo) {
  TestBackend b1("b1"), b2("b2");
  addMember(b1.port(), 0);
  addMember(b2.port(), 1);
  Gateway a, b;
  ASSERT_TRUE(start(a, "serverset"));
  ASSERT_TRUE(start(b, "serverset"));
  HttpResponse r = post(a.adminPort(), "/clusters/web/instances/" + b1.address() + "/weight",
                        R"({"weight": 3})");
  ASSERT_EQ(r.status, 200) << r.body;
  auto node = client_.get(std::string(kWeb) + "/vector_switchyard");
  ASSERT_TRUE(node.ok()) << node.error().message;
  EXPECT_EQ(Json::parse(node.value())["vector"][0]["weight"], 3.0);
  // Applied once (3 to 1), not once as an operator weight and again as a ServerSet vector.
  ASSERT_TRUE(weightBecomes(b, b1.address(), 3.0));
  auto count = spread(b, 200);
  EXPECT_GE(count["b1"], 140);
  EXPECT_LE(count["b1"], 160);
}

TEST_F(OperatorWeightsTest, TheTokenIsEnforcedAndBadInputChangesNothing) {
  TestBackend b1("b1");
  addMember(b1.port());
  Gateway g;
  ASSERT_TRUE(start(g, "/switchyard/weights"));
  const std::string weight = "/clusters/web/instances/" + b1.address() + "/weight";

  HttpResponse r = post(g.adminPort(), weight, R"({"weight": 2})", "");
  EXPECT_EQ(r.status, 401) << r.body;
  EXPECT_EQ(r.header("www-authenticate"), "Bearer");
  EXPECT_EQ(post(g.adminPort(), weight, R"({"weight": 2})", "wrong").status, 401);
  EXPECT_EQ(HttpClient::get(g.adminPort(), "/clusters").status, 200);  // reading needs none
  EXPECT_EQ(HttpClient::get(g.adminPort(), weight).status, 405);

  struct Case {
    std::string target, body;
    int status;
    std::string says;
  };
  const std::vector<Case> cases = {
      {weight, "{not json", 400, "not valid JSON"},
      {weight, R"({"weight": 100.5})", 400, "between 0 and 100"},
      {weight, R"({"weight": -1})", 400, "between 0 and 100"},
      {weight, R"({"weight": "2"})", 400, "must be a number"},
      {weight, R"({"wait": 2})", 400, "expected {\"weight\": W}"},
      {"/clusters/nope/instances/" + b1.address() + "/weight", R"({"weight": 2})", 404,
       "no cluster named \"nope\""},
      {"/clusters/web/instances/127.0.0.1:1/weight", R"({"weight": 2})", 404,
       "has no instance \"127.0.0.1:1\""},
      {"/clusters/web/instances/127.0.0.1:1/drain", "", 404, "has no instance"},
      {"/clusters/web/weights", Json{{b1.address(), 2}, {"127.0.0.1:1", 2}}.dump(), 404,
       "has no instance"},
      {"/routes/nope/0/split", R"({"split":[{"cluster":"web","weight":1}]})", 404,
       "no listener named"},
      {"/routes/web/3/split", R"({"split":[{"cluster":"web","weight":1}]})", 404, "has no route 3"},
      {"/routes/web/0/split", R"({"split":[{"cluster":"other","weight":1}]})", 404,
       "no cluster named"},
  };
  for (const auto& c : cases) {
    r = post(g.adminPort(), c.target, c.body);
    EXPECT_EQ(r.status, c.status) << c.target << " " << c.body << ": " << r.body;
    EXPECT_EQ(r.header("content-type"), "application/json");
    Json doc = Json::parse(r.body, nullptr, false);
    ASSERT_TRUE(!doc.is_discarded() && doc.contains("error")) << r.body;
    EXPECT_NE(doc["error"].get<std::string>().find(c.says), std::string::npos) << r.body;
  }
  // Nothing was written or applied.
  auto exists = client_.exists("/switchyard/weights/web");
  ASSERT_TRUE(exists.ok());
  EXPECT_FALSE(exists.value());
  EXPECT_EQ(weightOf(g, b1.address()), 1.0);

  // With the token: applied.
  EXPECT_EQ(post(g.adminPort(), weight, R"({"weight": 2})").status, 200);
  EXPECT_EQ(weightOf(g, b1.address()), 2.0);
}

TEST_F(OperatorWeightsTest, ZooKeeperDownAnswers503AndChangesNothing) {
  TestBackend b1("b1");
  addMember(b1.port());
  Gateway g;
  ASSERT_TRUE(start(g, "/switchyard/weights"));
  client_.close();
  zk_.stop();
  HttpResponse r = post(g.adminPort(), "/clusters/web/instances/" + b1.address() + "/weight",
                        R"({"weight": 2})");
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_NE(r.body.find("ZooKeeper did not take the change"), std::string::npos) << r.body;
  EXPECT_EQ(weightOf(g, b1.address()), 1.0);
  // Traffic goes on (fail static).
  EXPECT_EQ(spread(g, 5), (std::map<std::string, int>{{"b1", 5}}));

  // ZooKeeper back: the gateway follows the weights node again (same session or a new one).
  ASSERT_TRUE(zk_.start());
  ASSERT_TRUE(client_.connect(zk_.connectString()));
  ASSERT_TRUE(client_.createPath("/switchyard/weights"));
  ASSERT_TRUE(client_
                  .create("/switchyard/weights/web",
                          R"({"vector":[{"select":"inet=)" + b1.address() + R"(","weight":4}]})")
                  .ok());
  ASSERT_TRUE(weightBecomes(g, b1.address(), 4.0));
}

// Two clusters behind one route, for the shared split test.
constexpr const char* kSplitConfig = R"(
zookeeper:
  servers: "${ZK}"
  session_timeout_ms: 4000
workers: 2
listeners:
  - name: web
    address: "127.0.0.1:${LISTEN}"
    routes:
      - match: { path_prefix: "/" }
        cluster: stable
clusters:
  - name: stable
    discovery: { static: ["${STABLE}"] }
  - name: canary
    discovery: { static: ["${CANARY}"] }
weights:
  zookeeper_path: "/switchyard/weights"
admin:
  address: "127.0.0.1:${ADMIN}"
  token_file: "${TOKEN_FILE}"
)";

std::string log(Gateway& g) { return g.process().stderrText() + g.process().stdoutText(); }

TEST_F(OperatorWeightsTest, ASplitSetOnOneGatewayIsAppliedByAnother) {
  TestBackend stable("stable"), canary("canary");
  const std::map<std::string, std::string> vars = {{"ZK", zk_.connectString()},
                                                   {"STABLE", stable.address()},
                                                   {"CANARY", canary.address()},
                                                   {"TOKEN_FILE", token_file_}};
  Gateway a, b;
  ASSERT_TRUE(a.start(kSplitConfig, vars));
  ASSERT_TRUE(b.start(kSplitConfig, vars));
  EXPECT_EQ(spread(b, 10), (std::map<std::string, int>{{"stable", 10}}));

  // All to the canary, set on A: written to ZooKeeper, applied by B.
  HttpResponse r = post(a.adminPort(), "/routes/web/0/split",
                        R"({"split": [{"cluster": "stable", "weight": 0},
                                      {"cluster": "canary", "weight": 1}]})");
  ASSERT_EQ(r.status, 200) << r.describe() << r.body;
  EXPECT_EQ(Json::parse(r.body)["shared"], "zookeeper:/switchyard/weights/_routes/web/0");
  auto node = client_.get("/switchyard/weights/_routes/web/0");
  ASSERT_TRUE(node.ok()) << node.error().message;
  EXPECT_EQ(Json::parse(node.value()), Json::parse(R"({"split":[{"cluster":"stable","weight":0},
                                     {"cluster":"canary","weight":1}]})"));
  EXPECT_EQ(spread(a, 10), (std::map<std::string, int>{{"canary", 10}}));  // before answering
  ASSERT_TRUE(eventually(
      [&] {
        return spread(b, 5) == std::map<std::string, int>{{"canary", 5}};
      },
      10s));

  // A reload of B keeps the shared split (the file's comes back only for local splits).
  b.process().sendSignal(SIGHUP);
  ASSERT_TRUE(eventually([&] { return log(b).find("reload applied") != std::string::npos; }, 10s));
  EXPECT_EQ(spread(b, 10), (std::map<std::string, int>{{"canary", 10}}));

  // A node naming an unknown cluster changes nothing.
  ASSERT_TRUE(client_.set("/switchyard/weights/_routes/web/0",
                          R"({"split":[{"cluster":"nope","weight":1}]})"));
  ASSERT_TRUE(eventually(
      [&] { return log(b).find("no cluster named \"nope\"") != std::string::npos; }, 10s));
  EXPECT_EQ(spread(b, 10), (std::map<std::string, int>{{"canary", 10}}));

  // The node deleted (by any ZooKeeper client): every gateway goes back to the file's route.
  ASSERT_TRUE(client_.remove("/switchyard/weights/_routes/web/0"));
  for (Gateway* g : {&a, &b})
    ASSERT_TRUE(eventually(
        [&] {
          return spread(*g, 5) == std::map<std::string, int>{{"stable", 5}};
        },
        10s));
}

// `switchyard ctl` against a gateway without ZooKeeper: weights are local to it.
TEST(CtlTest, DrivesARunningGateway) {
  TestBackend b1("b1"), b2("b2"), c1("c1");
  TempDir dir;
  const std::string token_file = dir.path() + "/token";
  std::ofstream(token_file) << kToken;
  Gateway g;
  ASSERT_TRUE(g.start(R"(
workers: 1
listeners:
  - name: web
    address: "127.0.0.1:${LISTEN}"
    routes:
      - match: { path_prefix: "/" }
        split: [ { cluster: web, weight: 1 }, { cluster: canary, weight: 0 } ]
clusters:
  - name: web
    discovery: { static: [ ${WEB} ] }
    load_balancer: weighted_round_robin
  - name: canary
    discovery: { static: [ "${CANARY}" ] }
admin:
  address: "127.0.0.1:${ADMIN}"
  token_file: "${TOKEN_FILE}"
)",
                      {{"WEB", Gateway::addressList({b1.address(), b2.address()})},
                       {"CANARY", c1.address()},
                       {"TOKEN_FILE", token_file}}));
  const std::string admin = "127.0.0.1:" + std::to_string(g.adminPort());
  auto ctl = [&](std::vector<std::string> args, bool with_token = true) {
    std::vector<std::string> argv = {SWITCHYARD_BINARY, "ctl", "--admin", admin};
    if (with_token) argv.insert(argv.end(), {"--token-file", token_file});
    argv.insert(argv.end(), args.begin(), args.end());
    return runCommand(argv, 20s);
  };

  auto result = ctl({"weight", "web", b1.address(), "0"});
  ASSERT_EQ(result.exit_code, 0) << result.output();
  EXPECT_NE(result.out.find("\"local\""), std::string::npos) << result.out;
  auto count = spread(g, 10);
  EXPECT_EQ(count, (std::map<std::string, int>{{"b2", 10}}));

  result = ctl({"drain", "web", b2.address()});
  ASSERT_EQ(result.exit_code, 0) << result.output();
  result = ctl({"clusters"}, false);
  ASSERT_EQ(result.exit_code, 0) << result.output();
  EXPECT_NE(result.out.find("cluster web  (weighted_round_robin, static)"), std::string::npos)
      << result.out;
  EXPECT_NE(result.out.find("INSTANCE"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("P99 MS"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find(b2.address()), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("draining (operator)"), std::string::npos) << result.out;
  ASSERT_EQ(ctl({"undrain", "web", b2.address()}).exit_code, 0);

  // The canary gets everything once the split says so.
  result = ctl({"split", "web", "0", "web=0", "canary=1"});
  ASSERT_EQ(result.exit_code, 0) << result.output();
  EXPECT_EQ(spread(g, 10), (std::map<std::string, int>{{"c1", 10}}));

  // Errors: said plainly, non-zero exit.
  result = ctl({"weight", "nope", b1.address(), "1"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("404: no cluster named \"nope\""), std::string::npos) << result.err;
  result = ctl({"weight", "web", b1.address(), "1"}, false);
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("401"), std::string::npos) << result.err;
  result = ctl({"weight", "web", b1.address(), "200"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("between 0 and 100"), std::string::npos) << result.err;
  result = ctl({"split", "web", "0", "canary"});
  EXPECT_EQ(result.exit_code, 2);
  result = runCommand({SWITCHYARD_BINARY, "ctl", "--admin", "127.0.0.1:1", "clusters"}, 20s);
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("cannot connect"), std::string::npos) << result.err;
}

}  // namespace
}  // namespace switchyard::support
