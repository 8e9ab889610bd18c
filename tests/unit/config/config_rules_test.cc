// Errors of the configuration's rules rather than its syntax: names, references between
// sections, what each listener protocol and discovery kind needs; and many errors at once.

#include <gtest/gtest.h>

#include "config/config_loader.h"
#include "config_test_util.h"

namespace switchyard::config {
namespace {

using testing::describeErrors;
using testing::kMinimal;
using testing::onlyError;

// A listener "web" whose routes are `routes` (indented as list items under "    routes:"),
// and a cluster "app" (line 4 + the lines of `routes` on).
std::string withRoutes(const std::string& routes) {
  return "listeners:\n  - name: web\n    address: \"127.0.0.1:80\"\n    routes:\n" + routes +
         "clusters:\n  - name: app\n    discovery: { static: [\"a:1\"] }\n";
}

// kMinimal's listener and route, with `clusters` as the clusters section (line 6 on).
std::string withClusters(const std::string& clusters) {
  return "listeners:\n  - name: web\n    address: \"127.0.0.1:80\"\n    routes:\n"
         "      - cluster: app\n" +
         clusters;
}

TEST(ConfigRulesTest, DuplicateListenerName) {
  EXPECT_EQ(onlyError("listeners:\n"
                      "  - { name: web, address: \"127.0.0.1:80\", routes: [ { cluster: app } ] }\n"
                      "  - { name: web, address: \"127.0.0.1:81\", routes: [ { cluster: app } ] }\n"
                      "clusters: [ { name: app, discovery: { static: [\"a:1\"] } } ]\n"),
            "test.yaml:3:13: listeners[1].name: duplicate listener name \"web\" (first at line 2)");
}

TEST(ConfigRulesTest, DuplicateListenerAddress) {
  EXPECT_EQ(onlyError("listeners:\n"
                      "  - { name: a, address: \"127.0.0.1:80\", routes: [ { cluster: app } ] }\n"
                      "  - { name: b, address: \"127.0.0.1:80\", routes: [ { cluster: app } ] }\n"
                      "clusters: [ { name: app, discovery: { static: [\"a:1\"] } } ]\n"),
            "test.yaml:3:25: listeners[1].address: address 127.0.0.1:80 is already used by "
            "listener \"a\"");
}

TEST(ConfigRulesTest, DuplicateClusterName) {
  EXPECT_EQ(onlyError(withClusters("clusters:\n"
                                   "  - { name: app, discovery: { static: [\"a:1\"] } }\n"
                                   "  - { name: app, discovery: { static: [\"a:2\"] } }\n")),
            "test.yaml:8:13: clusters[1].name: duplicate cluster name \"app\" (first at line 7)");
}

TEST(ConfigRulesTest, RouteNamingAMissingCluster) {
  EXPECT_EQ(onlyError(withRoutes("      - cluster: ap\n")),
            "test.yaml:5:18: listeners[0].routes[0].cluster: no cluster named \"ap\" (did you "
            "mean \"app\"?)");
}

TEST(ConfigRulesTest, SplitTargetNamingAMissingCluster) {
  EXPECT_EQ(onlyError(withRoutes("      - split:\n"
                                 "          - { cluster: app, weight: 9 }\n"
                                 "          - { cluster: canary, weight: 1 }\n")),
            "test.yaml:7:24: listeners[0].routes[0].split[1].cluster: no cluster named "
            "\"canary\"");
}

TEST(ConfigRulesTest, TcpListenerNamingAMissingCluster) {
  EXPECT_EQ(onlyError("listeners:\n  - { name: t, address: \"127.0.0.1:80\", protocol: tcp, "
                      "cluster: nope }\n"
                      "clusters: [ { name: app, discovery: { static: [\"a:1\"] } } ]\n"),
            "test.yaml:2:65: listeners[0].cluster: no cluster named \"nope\"");
}

TEST(ConfigRulesTest, RouteWithBothClusterAndSplit) {
  EXPECT_EQ(onlyError(withRoutes("      - cluster: app\n"
                                 "        split: [ { cluster: app, weight: 1 } ]\n")),
            "test.yaml:5:9: listeners[0].routes[0]: a route names either cluster or split, not "
            "both");
}

TEST(ConfigRulesTest, RouteWithNeitherClusterNorSplit) {
  EXPECT_EQ(onlyError(withRoutes("      - match: { path_prefix: /a }\n")),
            "test.yaml:5:9: listeners[0].routes[0]: a route needs cluster: NAME or split: [...]");
}

TEST(ConfigRulesTest, SplitWeightsAllZero) {
  EXPECT_EQ(onlyError(withRoutes("      - split:\n"
                                 "          - { cluster: app, weight: 0 }\n"
                                 "          - { cluster: app, weight: 0 }\n")),
            "test.yaml:6:11: listeners[0].routes[0].split: split weights are all zero: at least "
            "one must be positive");
}

TEST(ConfigRulesTest, SplitTargetNeedsAWeight) {
  EXPECT_EQ(onlyError(withRoutes("      - split: [ { cluster: app } ]\n")),
            "test.yaml:5:18: listeners[0].routes[0].split[0]: missing required key \"weight\"");
}

TEST(ConfigRulesTest, TcpListenerWithoutCluster) {
  EXPECT_EQ(onlyError("listeners:\n  - name: t\n    address: \"127.0.0.1:80\"\n"
                      "    protocol: tcp\n"),
            "test.yaml:2:5: listeners[0]: a tcp listener needs cluster: NAME");
}

TEST(ConfigRulesTest, HttpListenerWithoutRoutes) {
  EXPECT_EQ(onlyError("listeners:\n  - name: w\n    address: \"127.0.0.1:80\"\n"),
            "test.yaml:2:5: listeners[0]: missing required key \"routes\"");
}

TEST(ConfigRulesTest, HttpsListenerWithoutTls) {
  EXPECT_EQ(
      onlyError("listeners:\n  - name: web\n    address: \"127.0.0.1:80\"\n    protocol: https\n"
                "    routes: [ { cluster: app } ]\n"
                "clusters: [ { name: app, discovery: { static: [\"a:1\"] } } ]\n"),
      "test.yaml:2:5: listeners[0]: an https listener needs tls: { certificate: FILE, "
      "private_key: FILE }");
}

TEST(ConfigRulesTest, TlsNeedsBothFiles) {
  EXPECT_EQ(
      onlyError("listeners:\n  - name: web\n    address: \"127.0.0.1:80\"\n    protocol: https\n"
                "    tls: { certificate: a.pem }\n    routes: [ { cluster: app } ]\n"
                "clusters: [ { name: app, discovery: { static: [\"a:1\"] } } ]\n"),
      "test.yaml:5:10: listeners[0].tls: missing required key \"private_key\"");
}

TEST(ConfigRulesTest, ClusterWithoutDiscovery) {
  EXPECT_EQ(onlyError(withClusters("clusters:\n  - name: app\n")),
            "test.yaml:7:5: clusters[0]: missing required key \"discovery\"");
  EXPECT_EQ(onlyError(withClusters("clusters:\n  - name: app\n    discovery: {}\n")),
            "test.yaml:8:16: clusters[0].discovery: discovery needs one of static, file or "
            "serverset");
}

TEST(ConfigRulesTest, ClusterWithTwoDiscoveryKinds) {
  EXPECT_EQ(onlyError(withClusters("clusters:\n  - name: app\n    discovery:\n"
                                   "      static: [\"a:1\"]\n      file: x.yaml\n")),
            "test.yaml:9:7: clusters[0].discovery: discovery takes exactly one of static, file "
            "or serverset, got static and file");
}

TEST(ConfigRulesTest, ServerSetWithoutZooKeeper) {
  EXPECT_EQ(onlyError(withClusters("clusters:\n  - name: app\n"
                                   "    discovery: { serverset: /aurora/web }\n")),
            "test.yaml:8:29: clusters[0].discovery.serverset: serverset discovery needs a "
            "top-level zookeeper section (servers: HOSTS)");
}

TEST(ConfigRulesTest, HashOnSyntax) {
  const std::string cluster =
      "clusters:\n  - name: app\n    discovery: { static: [\"a:1\"] }\n"
      "    load_balancer: maglev\n";
  EXPECT_EQ(onlyError(withClusters(cluster + "    hash_on: \"header:\"\n")),
            "test.yaml:10:14: clusters[0].hash_on: bad hash_on \"header:\" (expected "
            "header:NAME, cookie:NAME or source_ip)");
  EXPECT_EQ(onlyError(withClusters(cluster + "    hash_on: user-id\n")),
            "test.yaml:10:14: clusters[0].hash_on: bad hash_on \"user-id\" (expected "
            "header:NAME, cookie:NAME or source_ip)");
  EXPECT_EQ(onlyError(withClusters(cluster + "    hash_on: \"header:x user\"\n")),
            "test.yaml:10:14: clusters[0].hash_on: bad hash_on \"header:x user\": \"x user\" is "
            "not a valid header or cookie name");
  EXPECT_EQ(onlyError(withClusters(cluster + "    hash_on: \"cookie:a:b\"\n")),
            "test.yaml:10:14: clusters[0].hash_on: bad hash_on \"cookie:a:b\": \"a:b\" is not a "
            "valid header or cookie name");
  LoadResult ok = loadConfigString(withClusters(cluster + "    hash_on: \"cookie:sid\"\n"));
  EXPECT_TRUE(ok.ok()) << describeErrors(ok);
  EXPECT_EQ(ok.config.clusters[0].hash_on, "cookie:sid");
}

TEST(ConfigRulesTest, HashingBalancerWithoutHashOn) {
  EXPECT_EQ(onlyError(withClusters("clusters:\n  - name: app\n"
                                   "    discovery: { static: [\"a:1\"] }\n"
                                   "    load_balancer: ring_hash\n")),
            "test.yaml:9:20: clusters[0].load_balancer: ring_hash needs hash_on: header:NAME, "
            "cookie:NAME or source_ip");
}

TEST(ConfigRulesTest, EmptyRequiredStrings) {
  EXPECT_EQ(onlyError(withClusters("clusters:\n  - name: \"\"\n"
                                   "    discovery: { static: [\"a:1\"] }\n"
                                   "  - { name: app, discovery: { static: [\"a:1\"] } }\n")),
            "test.yaml:7:11: clusters[0].name: must not be empty");
}

TEST(ConfigRulesTest, MissingValueIsReportedAtItsKey) {
  EXPECT_EQ(onlyError(withClusters("clusters:\n  - name:\n"
                                   "    discovery: { static: [\"a:1\"] }\n"
                                   "  - { name: app, discovery: { static: [\"a:1\"] } }\n")),
            "test.yaml:7:5: clusters[0].name: expected a string, got nothing");
}

TEST(ConfigRulesTest, DuplicateKey) {
  EXPECT_EQ(onlyError(withClusters("clusters:\n  - name: app\n    name: app2\n"
                                   "    discovery: { static: [\"a:1\"] }\n")),
            "test.yaml:8:5: clusters[0].name: duplicate key \"name\" (first at line 7)");
}

TEST(ConfigRulesTest, NonLoopbackAdminNeedsAToken) {
  EXPECT_EQ(onlyError(std::string(kMinimal) + "admin: { address: \"0.0.0.0:9901\" }\n"),
            "test.yaml:10:19: admin.address: admin.token_file is required when the admin "
            "address (0.0.0.0:9901) is not on loopback");
}

TEST(ConfigRulesTest, WeightsNeedZooKeeper) {
  EXPECT_EQ(onlyError(std::string(kMinimal) + "weights: { zookeeper_path: /sy/weights }\n"),
            "test.yaml:10:10: weights: weights are shared through ZooKeeper: add a top-level "
            "zookeeper section");
}

TEST(ConfigRulesTest, KeysThatDoNotFitTheListenerProtocol) {
  EXPECT_EQ(onlyError("listeners:\n  - name: web\n    address: \"127.0.0.1:80\"\n"
                      "    tls: { certificate: a.pem, private_key: a.key }\n"
                      "    routes: [ { cluster: app } ]\n"
                      "clusters: [ { name: app, discovery: { static: [\"a:1\"] } } ]\n"),
            "test.yaml:4:10: listeners[0].tls: tls is only used by https listeners (protocol: "
            "https)");
  EXPECT_EQ(onlyError("listeners:\n  - name: t\n    address: \"127.0.0.1:80\"\n"
                      "    protocol: tcp\n    cluster: app\n    routes: [ { cluster: app } ]\n"
                      "clusters: [ { name: app, discovery: { static: [\"a:1\"] } } ]\n"),
            "test.yaml:6:13: listeners[0].routes: a tcp listener takes cluster: NAME, not routes");
}

TEST(ConfigRulesTest, ServerSetOnlyKeysWithOtherDiscovery) {
  EXPECT_EQ(onlyError(withClusters("clusters:\n  - name: app\n"
                                   "    discovery: { static: [\"a:1\"], endpoint: http }\n")),
            "test.yaml:8:45: clusters[0].discovery.endpoint: endpoint is only used with "
            "serverset discovery");
}

TEST(ConfigRulesTest, ZooKeeperConnectStringAndWeightsPath) {
  const std::string zk = "zookeeper: { servers: \"a:2181,b:2181/sy/gw\" }\n";
  LoadResult ok =
      loadConfigString(std::string(kMinimal) + zk + "weights: { zookeeper_path: serverset }\n");
  EXPECT_TRUE(ok.ok()) << describeErrors(ok);
  EXPECT_EQ(onlyError(std::string(kMinimal) + "zookeeper: { servers: \"a:2181/\" }\n"),
            "test.yaml:10:23: zookeeper.servers: bad chroot \"/\" (expected /PATH without a "
            "trailing /)");
  EXPECT_EQ(onlyError(std::string(kMinimal) + zk + "weights: { zookeeper_path: weights }\n"),
            "test.yaml:11:28: weights.zookeeper_path: expected a ZooKeeper path such as "
            "/switchyard/weights, or serverset; got \"weights\"");
}

TEST(ConfigRulesTest, EveryErrorOfAFileIsReportedInFileOrder) {
  const std::string yaml =
      "workers: none\n"                         // 1
      "listeners:\n"                            // 2
      "  - name: web\n"                         // 3
      "    address: \"127.0.0.1:80\"\n"         // 4
      "    protocol: https\n"                   // 5
      "    routes:\n"                           // 6
      "      - cluster: missing\n"              // 7
      "clusters:\n"                             // 8
      "  - name: app\n"                         // 9
      "    discovery: { static: [\"a:1\"] }\n"  // 10
      "    idle_timout_ms: 5\n"                 // 11
      "    panic_threshold_percent: 200\n";     // 12
  LoadResult r = loadConfigString(yaml, "test.yaml");
  std::vector<std::string> got;
  for (const auto& e : r.errors) got.push_back(e.str());
  EXPECT_EQ(got, (std::vector<std::string>{
                     "test.yaml:1:10: workers: expected auto or a whole number, got \"none\"",
                     "test.yaml:3:5: listeners[0]: an https listener needs tls: { certificate: "
                     "FILE, private_key: FILE }",
                     "test.yaml:7:18: listeners[0].routes[0].cluster: no cluster named "
                     "\"missing\"",
                     "test.yaml:11:5: clusters[0].idle_timout_ms: unknown key \"idle_timout_ms\" "
                     "(did you mean \"idle_timeout_ms\"?)",
                     "test.yaml:12:30: clusters[0].panic_threshold_percent: 200 is out of range "
                     "(expected 0 to 100)",
                 }));
  EXPECT_EQ(r.errors[0].file, "test.yaml");
  EXPECT_EQ(r.errors[0].line, 1);
  EXPECT_EQ(r.errors[0].column, 10);
  EXPECT_EQ(r.errors[0].path, "workers");
}

TEST(ConfigRulesTest, EmptyFileIsAnError) {
  LoadResult r = loadConfigString("", "test.yaml");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].str(),
            "test.yaml: the configuration is empty: at least one listener is required");
}

}  // namespace
}  // namespace switchyard::config
