// toYaml writes the running configuration back out; loading that text gives the same config.

#include "config/config_yaml.h"

#include <gtest/gtest.h>

#include "config/config_loader.h"
#include "config_test_util.h"

namespace switchyard::config {
namespace {

using testing::describeErrors;
using testing::kFull;
using testing::kMinimal;
using testing::loadValid;

Config roundTrip(const Config& c) {
  const std::string yaml = toYaml(c);
  LoadResult r = loadConfigString(yaml, "round-trip.yaml", "/elsewhere");
  EXPECT_TRUE(r.ok()) << describeErrors(r) << "---\n" << yaml;
  return r.config;
}

TEST(ConfigYamlTest, FullFileRoundTrips) {
  // Loaded with an absolute base, every file name is absolute, so the second base is moot.
  const Config c = loadValid(kFull, "/etc/switchyard");
  EXPECT_EQ(roundTrip(c), c);
}

TEST(ConfigYamlTest, MinimalFileRoundTripsWithEveryDefaultWritten) {
  const Config c = loadValid(kMinimal);
  EXPECT_EQ(roundTrip(c), c);
  const std::string yaml = toYaml(c);
  // The running configuration shows the defaults it runs with.
  EXPECT_NE(yaml.find("workers: auto"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("connect_timeout_ms: 250"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("max_header_bytes: 65536"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("load_balancer: weighted_round_robin"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("per_try_timeout_ms: auto"), std::string::npos) << yaml;
}

TEST(ConfigYamlTest, ValuesThatLookLikeOtherTypesStayStrings) {
  // Names that YAML would read as numbers, booleans or null if they were written plain.
  Config c = loadValid(kMinimal);
  c.clusters[0].name = "503";
  c.listeners[0].routes[0].cluster = "503";
  c.listeners[0].name = "yes";
  c.listeners[0].routes[0].match.headers = {{"x-flag", "null"}, {"x-empty", ""}};
  c.access_log.path = "-";
  EXPECT_EQ(roundTrip(c), c);
}

TEST(ConfigYamlTest, WeightsKeepEveryDigit) {
  Config c = loadValid(kMinimal);
  c.clusters[0].discovery.static_instances = {{{"10.0.0.1", 80}, 0.1},
                                              {{"::1", 81}, 1.0 / 3.0},
                                              {{"web-3", 82}, 0.0},
                                              {{"web-4", 83}, 100.0}};
  EXPECT_EQ(roundTrip(c), c);
}

TEST(ConfigYamlTest, TcpListenerAndWorkerCountRoundTrip) {
  Config c = loadValid(kMinimal);
  c.workers = 7;
  Listener tcp;
  tcp.name = "db";
  tcp.address = {"::1", 5432};
  tcp.protocol = ListenerProtocol::kTcp;
  tcp.cluster = "app";
  c.listeners.push_back(tcp);
  EXPECT_EQ(roundTrip(c), c);
}

}  // namespace
}  // namespace switchyard::config
