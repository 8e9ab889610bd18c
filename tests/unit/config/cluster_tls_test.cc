// A cluster's `tls:` (TLS towards its instances): defaults, file resolution, validation with
// file:line:column, and the round trip through GET /config.

#include <gtest/gtest.h>

#include "config/config_loader.h"
#include "config/config_yaml.h"
#include "config_test_util.h"

namespace switchyard::config {
namespace {

using testing::describeErrors;
using testing::loadValid;
using testing::onlyError;

std::string withCluster(const std::string& cluster_lines) {
  return "listeners:\n"
         "  - name: web\n"
         "    address: \"127.0.0.1:8080\"\n"
         "    routes: [ { cluster: app } ]\n"
         "clusters:\n"
         "  - name: app\n"
         "    discovery: { static: [\"127.0.0.1:9001\"] }\n" +
         cluster_lines;
}

TEST(ClusterTlsTest, AbsentMeansPlainForHttp1AndDefaultsForH2) {
  Config c = loadValid(withCluster(""));
  EXPECT_FALSE(c.clusters[0].tls);
  EXPECT_FALSE(c.clusters[0].usesTls());
  c = loadValid(withCluster("    protocol: h2\n"));
  EXPECT_FALSE(c.clusters[0].tls);
  EXPECT_TRUE(c.clusters[0].usesTls());
}

TEST(ClusterTlsTest, EmptyMapIsVerifiedTlsAgainstTheSystemStore) {
  const Config c = loadValid(withCluster("    tls: {}\n"));
  ASSERT_TRUE(c.clusters[0].tls);
  EXPECT_TRUE(c.clusters[0].usesTls());
  EXPECT_EQ(c.clusters[0].tls->ca, "");
  EXPECT_EQ(c.clusters[0].tls->server_name, "");
  EXPECT_TRUE(c.clusters[0].tls->verify);
}

TEST(ClusterTlsTest, EveryKeyIsRead) {
  const Config c = loadValid(
      withCluster("    tls: { ca: certs/ca.pem, server_name: api.internal, verify: true }\n"),
      "/etc/switchyard");
  ASSERT_TRUE(c.clusters[0].tls);
  EXPECT_EQ(c.clusters[0].tls->ca, "/etc/switchyard/certs/ca.pem");  // relative to the file
  EXPECT_EQ(c.clusters[0].tls->server_name, "api.internal");
  EXPECT_TRUE(c.clusters[0].tls->verify);
  const Config off = loadValid(withCluster("    tls: { verify: false }\n"));
  EXPECT_FALSE(off.clusters[0].tls->verify);
}

TEST(ClusterTlsTest, UnknownKeyGetsAHint) {
  EXPECT_EQ(onlyError(withCluster("    tls: { verfy: false }\n")),
            "test.yaml:8:12: clusters[0].tls.verfy: unknown key \"verfy\" (did you mean "
            "\"verify\"?)");
  EXPECT_EQ(onlyError(withCluster("    tls: { sever_name: x }\n")),
            "test.yaml:8:12: clusters[0].tls.sever_name: unknown key \"sever_name\" (did you "
            "mean \"server_name\"?)");
}

TEST(ClusterTlsTest, VerifyIsABoolean) {
  EXPECT_EQ(onlyError(withCluster("    tls: { verify: ture }\n")),
            "test.yaml:8:20: clusters[0].tls.verify: expected one of true, false, got \"ture\" "
            "(did you mean \"true\"?)");
}

TEST(ClusterTlsTest, CaWithoutVerificationIsAMistake) {
  EXPECT_EQ(onlyError(withCluster("    tls: { ca: ca.pem, verify: false }\n")),
            "test.yaml:8:16: clusters[0].tls.ca: ca is not used with verify: false (nothing is "
            "verified)");
}

TEST(ClusterTlsTest, ServerNameIsAHostNotAUrl) {
  EXPECT_EQ(onlyError(withCluster("    tls: { server_name: \"https://api\" }\n")),
            "test.yaml:8:25: clusters[0].tls.server_name: expected a host name or IP address "
            "(no scheme, path or spaces), got \"https://api\"");
}

TEST(ClusterTlsTest, H2cTakesNoTls) {
  EXPECT_EQ(onlyError(withCluster("    protocol: h2c\n    tls: {}\n")),
            "test.yaml:9:10: clusters[0].tls: h2c is HTTP/2 in cleartext: use protocol: h2 for "
            "HTTP/2 over TLS, or drop tls");
}

TEST(ClusterTlsTest, NotAMap) {
  const LoadResult r = loadConfigString(withCluster("    tls: yes\n"), "test.yaml");
  ASSERT_EQ(r.errors.size(), 1u) << describeErrors(r);
  EXPECT_NE(r.errors[0].str().find("clusters[0].tls: expected a map"), std::string::npos)
      << r.errors[0].str();
}

TEST(ClusterTlsTest, RoundTripsThroughTheRunningConfiguration) {
  for (const char* tls : {"    tls: { ca: /etc/ca.pem, server_name: \"10.0.0.7\" }\n",
                          "    tls: { verify: false }\n", "    tls: {}\n"}) {
    const Config c = loadValid(withCluster(tls));
    const LoadResult again = loadConfigString(toYaml(c), "again.yaml", "/elsewhere");
    ASSERT_TRUE(again.ok()) << describeErrors(again) << toYaml(c);
    EXPECT_EQ(again.config, c) << toYaml(c);
  }
}

// The probe speaks the cluster's protocol (proxy/health_probe_session.h): health_check goes with
// every protocol, with or without tls.
TEST(ClusterTlsTest, HealthCheckIsAcceptedWithTlsAndHttp2) {
  for (const std::string protocol_lines :
       {"    tls: { verify: false }\n", "    protocol: h2c\n", "    protocol: h2\n",
        "    protocol: h2\n    tls: { server_name: app.internal }\n", ""}) {
    const Config c = loadValid(
        withCluster(protocol_lines +
                    "    health_check: { path: /ready, interval_ms: 250, timeout_ms: 100 }\n"));
    ASSERT_TRUE(c.clusters[0].health_check) << protocol_lines;
    EXPECT_EQ(c.clusters[0].health_check->path, "/ready");
    EXPECT_EQ(c.clusters[0].health_check->interval_ms, 250u);
    EXPECT_EQ(c.clusters[0].health_check->timeout_ms, 100u);
  }
}

}  // namespace
}  // namespace switchyard::config
