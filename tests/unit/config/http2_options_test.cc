// The `http2:` sections: a listener's SETTINGS (max_concurrent_streams and the two windows) and
// an h2c/h2 cluster's keepalive PINGs. Defaults, every key read, every bad value refused with
// its place and range, the sections refused where they mean nothing, and /config's round trip.

#include <gtest/gtest.h>

#include "config/config_loader.h"
#include "config/config_yaml.h"
#include "config_test_util.h"

namespace switchyard::config {
namespace {

using testing::describeErrors;
using testing::kMinimal;
using testing::loadValid;
using testing::onlyError;

// kMinimal with `keys` added to its listener (after routes, line 6 on).
std::string withListenerKeys(const std::string& keys) {
  std::string yaml = kMinimal;
  const std::string anchor = "      - cluster: app\n";
  return yaml.insert(yaml.find(anchor) + anchor.size(), keys);
}

// kMinimal with `keys` added to its cluster, which speaks h2c.
std::string withH2cClusterKeys(const std::string& keys) {
  return std::string(kMinimal) + "    protocol: h2c\n" + keys;
}

TEST(Http2OptionsTest, DefaultsAreTheFormerConstantsAndKeepalivePingsOn) {
  const Config c = loadValid(kMinimal);
  EXPECT_EQ(c.listeners[0].http2.max_concurrent_streams, 100u);
  EXPECT_EQ(c.listeners[0].http2.initial_stream_window_bytes, 262144u);
  EXPECT_EQ(c.listeners[0].http2.connection_window_bytes, 1048576u);
  EXPECT_EQ(c.clusters[0].http2.keepalive_interval_ms, 10000u);
  EXPECT_EQ(c.clusters[0].http2.keepalive_timeout_ms, 5000u);
}

TEST(Http2OptionsTest, ListenerKeysAreRead) {
  const Config c = loadValid(withListenerKeys(
      "    http2: { max_concurrent_streams: 5, initial_stream_window_bytes: 65535, "
      "connection_window_bytes: 2147483647 }\n"));
  EXPECT_EQ(c.listeners[0].http2.max_concurrent_streams, 5u);
  EXPECT_EQ(c.listeners[0].http2.initial_stream_window_bytes, 65535u);
  EXPECT_EQ(c.listeners[0].http2.connection_window_bytes, 2147483647u);
}

TEST(Http2OptionsTest, ClusterKeysAreRead) {
  const Config c = loadValid(withH2cClusterKeys(
      "    http2: { keepalive_interval_ms: 1000, keepalive_timeout_ms: 200 }\n"));
  EXPECT_EQ(c.clusters[0].http2.keepalive_interval_ms, 1000u);
  EXPECT_EQ(c.clusters[0].http2.keepalive_timeout_ms, 200u);
}

TEST(Http2OptionsTest, MaxConcurrentStreamsOutOfRange) {
  EXPECT_EQ(onlyError(withListenerKeys("    http2: { max_concurrent_streams: 0 }\n")),
            "test.yaml:6:38: listeners[0].http2.max_concurrent_streams: 0 is out of range "
            "(expected 1 to 2147483647)");
  EXPECT_EQ(onlyError(withListenerKeys("    http2: { max_concurrent_streams: 2147483648 }\n")),
            "test.yaml:6:38: listeners[0].http2.max_concurrent_streams: 2147483648 is out of "
            "range (expected 1 to 2147483647)");
}

TEST(Http2OptionsTest, StreamWindowOutOfRange) {
  EXPECT_EQ(onlyError(withListenerKeys("    http2: { initial_stream_window_bytes: 65534 }\n")),
            "test.yaml:6:43: listeners[0].http2.initial_stream_window_bytes: 65534 is out of "
            "range (expected 65535 to 2147483647)");
  EXPECT_EQ(onlyError(withListenerKeys("    http2: { initial_stream_window_bytes: 2147483648 }\n")),
            "test.yaml:6:43: listeners[0].http2.initial_stream_window_bytes: 2147483648 is out of "
            "range (expected 65535 to 2147483647)");
}

TEST(Http2OptionsTest, ConnectionWindowOutOfRange) {
  EXPECT_EQ(onlyError(withListenerKeys("    http2: { connection_window_bytes: 1024 }\n")),
            "test.yaml:6:39: listeners[0].http2.connection_window_bytes: 1024 is out of range "
            "(expected 65535 to 2147483647)");
  EXPECT_EQ(onlyError(withListenerKeys("    http2: { connection_window_bytes: -1 }\n")),
            "test.yaml:6:39: listeners[0].http2.connection_window_bytes: -1 is out of range "
            "(expected 65535 to 2147483647)");
}

TEST(Http2OptionsTest, ListenerSectionMustBeAMapOfKnownKeys) {
  const std::string unknown = onlyError(withListenerKeys("    http2: { max_streams: 5 }\n"));
  EXPECT_NE(unknown.find("listeners[0].http2.max_streams"), std::string::npos) << unknown;
  EXPECT_NE(unknown.find("max_concurrent_streams"), std::string::npos) << unknown;  // the hint
  const std::string scalar = onlyError(withListenerKeys("    http2: 5\n"));
  EXPECT_NE(scalar.find("listeners[0].http2"), std::string::npos) << scalar;
}

TEST(Http2OptionsTest, ATcpListenerTakesNoHttp2Section) {
  const std::string yaml = R"(listeners:
  - name: db
    address: "127.0.0.1:5432"
    protocol: tcp
    cluster: app
    http2: { max_concurrent_streams: 5 }
clusters:
  - name: app
    discovery: { static: ["127.0.0.1:9001"] }
)";
  EXPECT_EQ(onlyError(yaml),
            "test.yaml:6:12: listeners[0].http2: http2 is for http and https listeners, not tcp");
}

TEST(Http2OptionsTest, KeepaliveTimeoutMustBePositive) {
  EXPECT_EQ(onlyError(withH2cClusterKeys("    http2: { keepalive_timeout_ms: 0 }\n")),
            "test.yaml:11:36: clusters[0].http2.keepalive_timeout_ms: 0 is out of range "
            "(expected at least 1)");
  EXPECT_EQ(onlyError(withH2cClusterKeys("    http2: { keepalive_interval_ms: -1 }\n")),
            "test.yaml:11:37: clusters[0].http2.keepalive_interval_ms: -1 is out of range "
            "(expected at least 0)");
}

TEST(Http2OptionsTest, AnHttp1ClusterTakesNoHttp2Section) {
  EXPECT_EQ(onlyError(std::string(kMinimal) + "    http2: { keepalive_interval_ms: 1000 }\n"),
            "test.yaml:10:12: clusters[0].http2: http2 is for protocol h2c and h2 clusters; this "
            "one speaks http1");
}

TEST(Http2OptionsTest, ConfigShowsAndRoundTripsTheSections) {
  const Config c = loadValid(withH2cClusterKeys(
      "    http2: { keepalive_interval_ms: 1500, keepalive_timeout_ms: 700 }\n"));
  Config edited = loadValid(withListenerKeys("    http2: { max_concurrent_streams: 7 }\n"));
  edited.clusters = c.clusters;
  const std::string yaml = toYaml(edited);
  EXPECT_NE(yaml.find("max_concurrent_streams: 7"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("initial_stream_window_bytes: 262144"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("connection_window_bytes: 1048576"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("keepalive_interval_ms: 1500"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("keepalive_timeout_ms: 700"), std::string::npos) << yaml;
  LoadResult r = loadConfigString(yaml, "round-trip.yaml", "/elsewhere");
  ASSERT_TRUE(r.ok()) << describeErrors(r) << "---\n" << yaml;
  EXPECT_EQ(r.config, edited);
}

}  // namespace
}  // namespace switchyard::config
