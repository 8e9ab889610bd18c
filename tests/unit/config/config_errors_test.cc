// Each kind of configuration error, with its exact place (1-based line:column), key path and
// message; and a file with many errors reporting all of them.

#include <gtest/gtest.h>

#include "config/config_loader.h"
#include "config_test_util.h"

namespace switchyard::config {
namespace {

using testing::describeErrors;
using testing::kMinimal;
using testing::onlyError;

// kMinimal with `extra` appended to its only cluster (line 10 on).
std::string withClusterKeys(const std::string& extra) { return std::string(kMinimal) + extra; }

TEST(ConfigErrorsTest, YamlSyntaxErrorHasItsPlace) {
  const std::string e = onlyError("listeners:\n  - name: web\n    routes: [ {cluster: a}\n");
  EXPECT_EQ(e.rfind("test.yaml:4:1: YAML syntax error: ", 0), 0u) << e;
}

TEST(ConfigErrorsTest, YamlSyntaxErrorOfATab) {
  // yaml-cpp places it just after the tab.
  const std::string e = onlyError("listeners:\n\t- name: web\n");
  EXPECT_EQ(e.rfind("test.yaml:2:2: YAML syntax error: ", 0), 0u) << e;
}

TEST(ConfigErrorsTest, UnknownKeyWithDidYouMean) {
  EXPECT_EQ(onlyError(withClusterKeys("    conect_timeout_ms: 5\n")),
            "test.yaml:10:5: clusters[0].conect_timeout_ms: unknown key \"conect_timeout_ms\" "
            "(did you mean \"connect_timeout_ms\"?)");
  EXPECT_EQ(onlyError(withClusterKeys("    Load-Balancer: maglev\n")),
            "test.yaml:10:5: clusters[0].Load-Balancer: unknown key \"Load-Balancer\" "
            "(did you mean \"load_balancer\"?)");
}

TEST(ConfigErrorsTest, UnknownKeysOfASection) {
  LoadResult r = loadConfigString(
      std::string(kMinimal) + "admin: { adress: \"127.0.0.1:1\", zzz: 1 }\n", "test.yaml");
  ASSERT_EQ(r.errors.size(), 2u) << describeErrors(r);
  EXPECT_EQ(r.errors[0].str(),
            "test.yaml:10:10: admin.adress: unknown key \"adress\" (did you mean \"address\"?)");
  EXPECT_EQ(r.errors[1].str(),
            "test.yaml:10:33: admin.zzz: unknown key \"zzz\" (expected one of address, "
            "token_file)");
}

TEST(ConfigErrorsTest, StringWhereANumberIsExpected) {
  EXPECT_EQ(onlyError(withClusterKeys("    connect_timeout_ms: fast\n")),
            "test.yaml:10:25: clusters[0].connect_timeout_ms: expected a whole number, got "
            "\"fast\"");
  EXPECT_EQ(onlyError(withClusterKeys("    slow_start_ms: 1.5\n")),
            "test.yaml:10:20: clusters[0].slow_start_ms: expected a whole number, got \"1.5\"");
}

TEST(ConfigErrorsTest, MapWhereAListIsExpected) {
  EXPECT_EQ(onlyError("listeners:\n  - name: web\n    address: \"127.0.0.1:80\"\n"
                      "    routes: { cluster: app }\n"),
            "test.yaml:4:13: listeners[0].routes: expected a list, got a map");
}

TEST(ConfigErrorsTest, ListWhereAMapIsExpected) {
  EXPECT_EQ(onlyError(withClusterKeys("    retries: [1, 2]\n")),
            "test.yaml:10:14: clusters[0].retries: expected a map, got a list");
}

TEST(ConfigErrorsTest, ScalarWhereAListIsExpected) {
  EXPECT_EQ(onlyError("listeners: 7\n"), "test.yaml:1:12: listeners: expected a list, got \"7\"");
}

TEST(ConfigErrorsTest, PortOutOfRange) {
  EXPECT_EQ(onlyError("listeners:\n  - name: web\n    address: \"127.0.0.1:70000\"\n"
                      "    routes: [ { cluster: app } ]\n"
                      "clusters: [ { name: app, discovery: { static: [\"a:1\"] } } ]\n"),
            "test.yaml:3:14: listeners[0].address: bad address: bad port \"70000\" in "
            "\"127.0.0.1:70000\" (expected 1-65535)");
}

TEST(ConfigErrorsTest, ListenerPortZeroIsRefusedButAdminMayPickOne) {
  EXPECT_EQ(onlyError("listeners:\n  - name: web\n    address: \"127.0.0.1:0\"\n"
                      "    routes: [ { cluster: app } ]\n"
                      "clusters: [ { name: app, discovery: { static: [\"a:1\"] } } ]\n"),
            "test.yaml:3:14: listeners[0].address: bad address: bad port \"0\" in "
            "\"127.0.0.1:0\" (expected 1-65535)");
  LoadResult r = loadConfigString(std::string(kMinimal) + "admin: { address: \"127.0.0.1:0\" }\n");
  EXPECT_TRUE(r.ok()) << describeErrors(r);
  EXPECT_EQ(r.config.admin.address.port, 0);
}

TEST(ConfigErrorsTest, PercentageOutOfRange) {
  EXPECT_EQ(onlyError(withClusterKeys("    panic_threshold_percent: 101\n")),
            "test.yaml:10:30: clusters[0].panic_threshold_percent: 101 is out of range "
            "(expected 0 to 100)");
  EXPECT_EQ(onlyError(withClusterKeys("    outlier_detection: { max_ejected_percent: -5 }\n")),
            "test.yaml:10:47: clusters[0].outlier_detection.max_ejected_percent: -5 is out of "
            "range (expected 0 to 100)");
  EXPECT_EQ(onlyError(withClusterKeys("    retries: { budget_percent: 250 }\n")),
            "test.yaml:10:32: clusters[0].retries.budget_percent: 250 is out of range (expected "
            "0 to 100)");
}

TEST(ConfigErrorsTest, ZeroWhereAPositiveNumberIsNeeded) {
  EXPECT_EQ(onlyError(withClusterKeys("    health_check: { interval_ms: 0 }\n")),
            "test.yaml:10:34: clusters[0].health_check.interval_ms: 0 is out of range (expected "
            "at least 1)");
}

TEST(ConfigErrorsTest, WeightsOutOfRange) {
  EXPECT_EQ(onlyError("listeners:\n  - name: web\n    address: \"127.0.0.1:80\"\n"
                      "    routes: [ { cluster: app } ]\n"
                      "clusters:\n  - name: app\n    discovery:\n"
                      "      static: [\"a:1 101\", { address: \"b:2\", weight: 0.5 }]\n"),
            "test.yaml:8:16: clusters[0].discovery.static[0]: 101 is out of range (expected 0 "
            "to 100)");
  EXPECT_EQ(onlyError("listeners:\n  - name: web\n    address: \"127.0.0.1:80\"\n"
                      "    routes: [ { cluster: app } ]\n"
                      "clusters:\n  - name: app\n    discovery:\n"
                      "      static: [ { address: \"b:2\", weight: -1 } ]\n"),
            "test.yaml:8:43: clusters[0].discovery.static[0].weight: -1 is out of range "
            "(expected 0 to 100)");
  EXPECT_EQ(onlyError("listeners:\n  - name: web\n    address: \"127.0.0.1:80\"\n    routes:\n"
                      "      - split: [ { cluster: app, weight: 2000000 } ]\n"
                      "clusters: [ { name: app, discovery: { static: [\"a:1\"] } } ]\n"),
            "test.yaml:5:42: listeners[0].routes[0].split[0].weight: 2000000 is out of range "
            "(expected 0 to 1000000)");
}

TEST(ConfigErrorsTest, BadAddresses) {
  EXPECT_EQ(onlyError("listeners:\n  - name: web\n    address: \"127.0.0.1:80\"\n"
                      "    routes: [ { cluster: app } ]\n"
                      "clusters: [ { name: app, discovery: { static: [\"10.0.0.1\"] } } ]\n"),
            "test.yaml:5:48: clusters[0].discovery.static[0]: bad address: expected HOST:PORT, "
            "got \"10.0.0.1\"");
  EXPECT_EQ(onlyError(std::string(kMinimal) + "admin: { address: \"::1:9901\" }\n"),
            "test.yaml:10:19: admin.address: bad address: IPv6 addresses must be written in "
            "brackets: \"::1:9901\"");
  EXPECT_EQ(onlyError(std::string(kMinimal) + "zookeeper: { servers: \"zk1:2181,:2181/sy\" }\n"),
            "test.yaml:10:23: zookeeper.servers: bad ZooKeeper server: empty host in \":2181\"");
}

TEST(ConfigErrorsTest, BadEnumsListTheAllowedValues) {
  EXPECT_EQ(onlyError("listeners:\n  - name: web\n    address: \"127.0.0.1:80\"\n"
                      "    protocol: http2\n    routes: [ { cluster: app } ]\n"
                      "clusters: [ { name: app, discovery: { static: [\"a:1\"] } } ]\n"),
            "test.yaml:4:15: listeners[0].protocol: expected one of http, https, tcp, got "
            "\"http2\" (did you mean \"http\"?)");
  EXPECT_EQ(onlyError(withClusterKeys("    load_balancer: random\n")),
            "test.yaml:10:20: clusters[0].load_balancer: expected one of round_robin, "
            "weighted_round_robin, least_request, p2c_ewma, ring_hash, maglev, got \"random\"");
  EXPECT_EQ(onlyError(withClusterKeys("    protocol: http2\n")),
            "test.yaml:10:15: clusters[0].protocol: expected one of http1, h2c, h2, got \"http2\" "
            "(did you mean \"http1\"?)");
  EXPECT_EQ(onlyError(std::string(kMinimal) + "access_log: { path: \"-\", format: xml }\n"),
            "test.yaml:10:34: access_log.format: expected one of json, text, got \"xml\"");
  EXPECT_EQ(
      onlyError("zookeeper: { servers: \"zk:2181\" }\n"
                "listeners:\n  - name: web\n    address: \"127.0.0.1:80\"\n"
                "    routes: [ { cluster: app } ]\n"
                "clusters:\n  - name: app\n    discovery: { serverset: /a, format: curatr }\n"),
      "test.yaml:8:41: clusters[0].discovery.format: expected one of serverset, curator, "
      "nerve, got \"curatr\" (did you mean \"curator\"?)");
}

}  // namespace
}  // namespace switchyard::config
