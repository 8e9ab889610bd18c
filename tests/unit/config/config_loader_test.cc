// A valid full file and a minimal file, read field by field.

#include "config/config_loader.h"

#include <gtest/gtest.h>

#include "config_test_util.h"
#include "tests/support/temp_dir.h"

namespace switchyard::config {
namespace {

using testing::kFull;
using testing::kMinimal;
using testing::loadValid;

TEST(ConfigLoaderTest, FullFileLoadsEveryField) {
  const Config c = loadValid(kFull, "/etc/switchyard");
  ASSERT_TRUE(c.zookeeper);
  EXPECT_EQ(c.zookeeper->servers, "zk1:2181,zk2:2181/switchyard");
  EXPECT_EQ(c.zookeeper->session_timeout_ms, 8000u);
  EXPECT_EQ(c.workers, 4u);

  ASSERT_EQ(c.listeners.size(), 2u);
  const Listener& web = c.listeners[0];
  EXPECT_EQ(web.name, "web");
  EXPECT_EQ(web.address, (HostPort{"0.0.0.0", 8443}));
  EXPECT_EQ(web.protocol, ListenerProtocol::kHttps);
  ASSERT_TRUE(web.tls);
  EXPECT_EQ(web.tls->certificate, "/etc/switchyard/server.pem");
  EXPECT_EQ(web.tls->private_key, "/etc/keys/server.key");
  ASSERT_EQ(web.routes.size(), 2u);
  EXPECT_EQ(web.routes[0].match.host, "api.example.com");
  EXPECT_EQ(web.routes[0].match.path_prefix, "/v2/");
  using Header = std::pair<std::string, std::string>;
  EXPECT_EQ(web.routes[0].match.headers, (std::vector<Header>{{"x-canary", "1"}, {"x-team", ""}}));
  EXPECT_EQ(web.routes[0].cluster, "api-canary");
  EXPECT_TRUE(web.routes[0].split.empty());
  EXPECT_EQ(web.routes[1].match.host, "");
  EXPECT_EQ(web.routes[1].match.path_prefix, "/");
  EXPECT_TRUE(web.routes[1].match.headers.empty());
  EXPECT_EQ(web.routes[1].cluster, "");
  EXPECT_EQ(web.routes[1].split, (std::vector<SplitTarget>{{"web", 95}, {"web-next", 5}}));
  EXPECT_EQ(web.limits.max_header_bytes, 4096u);
  EXPECT_EQ(web.limits.max_body_bytes, 0u);
  EXPECT_EQ(web.limits.header_timeout_ms, 2000u);
  EXPECT_EQ(web.limits.idle_timeout_ms, 5000u);
  EXPECT_EQ(web.limits.max_connections, 10u);
  const Listener& db = c.listeners[1];
  EXPECT_EQ(db.address, (HostPort{"::1", 5433}));
  EXPECT_EQ(db.protocol, ListenerProtocol::kTcp);
  EXPECT_EQ(db.cluster, "web-next");
  EXPECT_FALSE(db.tls);
  EXPECT_TRUE(db.routes.empty());

  ASSERT_EQ(c.clusters.size(), 3u);
  const Cluster& w = c.clusters[0];
  EXPECT_EQ(w.name, "web");
  EXPECT_EQ(w.discovery.kind, DiscoveryKind::kServerSet);
  EXPECT_EQ(w.discovery.serverset, "/aurora/www-data/prod/web");
  EXPECT_EQ(w.discovery.endpoint, "http");
  EXPECT_EQ(w.discovery.format, ServerSetFormat::kCurator);
  EXPECT_EQ(w.protocol, UpstreamProtocol::kHttp1);
  EXPECT_EQ(w.load_balancer, LoadBalancerKind::kRingHash);
  EXPECT_EQ(w.hash_on, "header:x-user-id");
  EXPECT_EQ(w.slow_start_ms, 10000u);
  EXPECT_EQ(w.connect_timeout_ms, 300u);
  EXPECT_EQ(w.request_timeout_ms, 16000u);
  EXPECT_EQ(w.idle_timeout_ms, 61000u);
  EXPECT_EQ(w.drain_timeout_ms, 31000u);
  EXPECT_EQ(w.max_connections_per_instance, 512u);
  EXPECT_EQ(w.retries.attempts, 3u);
  EXPECT_EQ(w.retries.on, (std::vector<std::string>{"connect-failure", "reset", "503"}));
  EXPECT_EQ(w.retries.budget_percent, 25u);
  EXPECT_EQ(w.retries.per_try_timeout_ms, std::optional<uint32_t>(700));
  ASSERT_TRUE(w.health_check);
  EXPECT_EQ(w.health_check->path, "/healthz");
  EXPECT_EQ(w.health_check->interval_ms, 1500u);
  EXPECT_EQ(w.health_check->timeout_ms, 400u);
  EXPECT_EQ(w.health_check->unhealthy_after, 4u);
  EXPECT_EQ(w.health_check->healthy_after, 1u);
  EXPECT_EQ(w.outlier_detection.consecutive_failures, 6u);
  EXPECT_EQ(w.outlier_detection.base_ejection_ms, 20000u);
  EXPECT_EQ(w.outlier_detection.max_ejected_percent, 40u);
  EXPECT_EQ(w.panic_threshold_percent, 30u);

  const Cluster& next = c.clusters[1];
  EXPECT_EQ(next.discovery.kind, DiscoveryKind::kStatic);
  EXPECT_EQ(next.discovery.static_instances,
            (std::vector<StaticInstance>{
                {{"127.0.0.1", 9001}, 1.0}, {{"127.0.0.1", 9002}, 2.5}, {{"::1", 9003}, 0.0}}));
  EXPECT_EQ(next.protocol, UpstreamProtocol::kH2);
  EXPECT_EQ(next.load_balancer, LoadBalancerKind::kMaglev);
  EXPECT_EQ(next.hash_on, "source_ip");

  const Cluster& api = c.clusters[2];
  EXPECT_EQ(api.discovery.kind, DiscoveryKind::kFile);
  EXPECT_EQ(api.discovery.file, "/etc/switchyard/instances/api.yaml");
  EXPECT_EQ(api.load_balancer, LoadBalancerKind::kP2cEwma);
  EXPECT_EQ(api.protocol, UpstreamProtocol::kH2c);
  EXPECT_EQ(c.findCluster("api-canary"), &api);
  EXPECT_EQ(c.findCluster("nope"), nullptr);

  ASSERT_TRUE(c.weights);
  EXPECT_EQ(c.weights->zookeeper_path, "/switchyard/weights");
  EXPECT_EQ(c.admin.address, (HostPort{"0.0.0.0", 9901}));
  EXPECT_EQ(c.admin.token_file, "/etc/switchyard/admin.token");
  EXPECT_EQ(c.access_log.path, "/etc/switchyard/logs/access.log");
  EXPECT_EQ(c.access_log.format, AccessLogFormat::kText);
}

TEST(ConfigLoaderTest, MinimalFileGetsEveryDefault) {
  const Config c = loadValid(kMinimal);
  // Everything not written equals the struct's own initialiser.
  Config expected;
  Listener listener;
  listener.name = "web";
  listener.address = {"127.0.0.1", 8080};
  Route route;
  route.cluster = "app";
  listener.routes = {route};
  expected.listeners = {listener};
  Cluster cluster;
  cluster.name = "app";
  cluster.discovery.static_instances = {{{"127.0.0.1", 9001}, 1.0}};
  expected.clusters = {cluster};
  EXPECT_EQ(c, expected);

  // And those defaults are docs/configuration.md's, spelled out so that a changed initialiser
  // shows here.
  EXPECT_FALSE(c.zookeeper);
  EXPECT_EQ(c.workers, 0u);  // auto
  EXPECT_EQ(c.listeners[0].protocol, ListenerProtocol::kHttp);
  EXPECT_FALSE(c.listeners[0].tls);
  EXPECT_EQ(c.listeners[0].routes[0].match.path_prefix, "/");
  EXPECT_EQ(c.listeners[0].routes[0].match.host, "");
  EXPECT_EQ(c.listeners[0].limits.max_header_bytes, 65536u);
  EXPECT_EQ(c.listeners[0].limits.max_body_bytes, 1ull << 30);
  EXPECT_EQ(c.listeners[0].limits.header_timeout_ms, 10000u);
  EXPECT_EQ(c.listeners[0].limits.idle_timeout_ms, 60000u);
  EXPECT_EQ(c.listeners[0].limits.max_connections, 100000u);
  const Cluster& app = c.clusters[0];
  EXPECT_EQ(app.discovery.kind, DiscoveryKind::kStatic);
  EXPECT_EQ(app.discovery.format, ServerSetFormat::kServerSet);
  EXPECT_EQ(app.protocol, UpstreamProtocol::kHttp1);
  EXPECT_EQ(app.load_balancer, LoadBalancerKind::kWeightedRoundRobin);
  EXPECT_EQ(app.hash_on, "");
  EXPECT_EQ(app.slow_start_ms, 5000u);
  EXPECT_EQ(app.retries.per_try_timeout_ms, std::nullopt);  // auto
  EXPECT_EQ(app.connect_timeout_ms, 250u);
  EXPECT_EQ(app.request_timeout_ms, 15000u);
  EXPECT_EQ(app.idle_timeout_ms, 60000u);
  EXPECT_EQ(app.drain_timeout_ms, 30000u);
  EXPECT_EQ(app.max_connections_per_instance, 1024u);
  EXPECT_EQ(app.retries.attempts, 2u);
  EXPECT_EQ(app.retries.on,
            (std::vector<std::string>{"connect-failure", "refused-stream", "reset"}));
  EXPECT_EQ(app.retries.budget_percent, 20u);
  EXPECT_FALSE(app.health_check);
  EXPECT_EQ(app.outlier_detection.consecutive_failures, 5u);
  EXPECT_EQ(app.outlier_detection.base_ejection_ms, 30000u);
  EXPECT_EQ(app.outlier_detection.max_ejected_percent, 50u);
  EXPECT_EQ(app.panic_threshold_percent, 50u);
  EXPECT_FALSE(c.weights);
  EXPECT_EQ(c.admin.address, (HostPort{"127.0.0.1", 9901}));
  EXPECT_EQ(c.admin.token_file, "");
  EXPECT_EQ(c.access_log.path, "");
  EXPECT_EQ(c.access_log.format, AccessLogFormat::kJson);
}

TEST(ConfigLoaderTest, WorkersAutoOrPositive) {
  EXPECT_EQ(loadValid(std::string("workers: auto\n") + kMinimal).workers, 0u);
  EXPECT_EQ(loadValid(std::string("workers: 3\n") + kMinimal).workers, 3u);
}

TEST(ConfigLoaderTest, EmptyHealthCheckMapEnablesDefaults) {
  std::string yaml = std::string(kMinimal) + "    health_check: {}\n";
  const Config c = loadValid(yaml);
  ASSERT_TRUE(c.clusters[0].health_check);
  EXPECT_EQ(*c.clusters[0].health_check, HealthCheck{});
}

TEST(ConfigLoaderTest, AccessLogDashStaysStdout) {
  const Config c =
      loadValid(std::string(kMinimal) + "access_log: { path: \"-\" }\n", "/etc/switchyard");
  EXPECT_EQ(c.access_log.path, "-");
}

TEST(ConfigLoaderTest, FileResolvesRelativeNamesAgainstItsDirectory) {
  support::TempDir dir;
  const std::string path = dir.writeFile(
      "gw.yaml", std::string(kMinimal) + "admin: { token_file: secrets/admin.token }\n");
  LoadResult r = loadConfigFile(path);
  ASSERT_TRUE(r.ok()) << testing::describeErrors(r);
  EXPECT_EQ(r.config.source_path, path);
  EXPECT_EQ(r.config.admin.token_file, dir.path() + "/secrets/admin.token");
}

TEST(ConfigLoaderTest, ErrorsOfAFileNameIt) {
  support::TempDir dir;
  const std::string path =
      dir.writeFile("gw.yaml", std::string("workers: 1\nbogus_key: 3\n") + kMinimal);
  LoadResult r = loadConfigFile(path);
  ASSERT_EQ(r.errors.size(), 1u) << testing::describeErrors(r);
  EXPECT_EQ(r.errors.front().str(),
            path +
                ":2:1: bogus_key: unknown key \"bogus_key\" (expected one of zookeeper, "
                "workers, listeners, clusters, weights, admin, access_log)");
}

TEST(ConfigLoaderTest, UnreadableFileIsOneErrorWithoutPlace) {
  support::TempDir dir;
  LoadResult r = loadConfigFile(dir.file("missing.yaml"));
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].line, 0);
  EXPECT_EQ(r.errors[0].str(),
            dir.file("missing.yaml") + ": cannot read: No such file or directory");
}

TEST(ConfigLoaderTest, EmptyStaticListIsAClusterWithNoInstances) {
  // A placeholder cluster: the gateway answers 503 naming it (docs/configuration.md).
  const Config c = loadValid(
      "listeners: [ { name: web, address: \"127.0.0.1:80\", routes: [ { cluster: none } ] } ]\n"
      "clusters: [ { name: none, discovery: { static: [] } } ]\n");
  ASSERT_EQ(c.clusters.size(), 1u);
  EXPECT_EQ(c.clusters[0].discovery.kind, DiscoveryKind::kStatic);
  EXPECT_TRUE(c.clusters[0].discovery.static_instances.empty());
}

TEST(ConfigLoaderTest, ToStringNamesMatchTheFile) {
  EXPECT_STREQ(toString(ListenerProtocol::kHttps), "https");
  EXPECT_STREQ(toString(DiscoveryKind::kServerSet), "serverset");
  EXPECT_STREQ(toString(ServerSetFormat::kNerve), "nerve");
  EXPECT_STREQ(toString(UpstreamProtocol::kH2c), "h2c");
  EXPECT_STREQ(toString(LoadBalancerKind::kWeightedRoundRobin), "weighted_round_robin");
  EXPECT_STREQ(toString(LoadBalancerKind::kP2cEwma), "p2c_ewma");
  EXPECT_STREQ(toString(AccessLogFormat::kText), "text");
}

}  // namespace
}  // namespace switchyard::config
