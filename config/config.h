#pragma once
// The YAML configuration as plain structs with their defaults (docs/configuration.md).
// Loading and validation live in config_loader.h; nothing here does I/O. Every struct compares by
// value (reload diffs, the YAML round trip).

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/host_port.h"

namespace switchyard::config {

struct ZooKeeper {
  std::string servers;  // connect string: "h1:2181,h2:2181/chroot"
  uint32_t session_timeout_ms = 10000;

  bool operator==(const ZooKeeper&) const = default;
};

struct RouteMatch {
  std::string host;               // exact Host (port ignored, case-insensitive); empty = any
  std::string path_prefix = "/";  // the request target must start with it
  // Header name (lower-cased at load) -> exact value; every one must match.
  std::vector<std::pair<std::string, std::string>> headers;

  bool operator==(const RouteMatch&) const = default;
};

struct SplitTarget {
  std::string cluster;
  uint32_t weight = 0;

  bool operator==(const SplitTarget&) const = default;
};

struct Route {
  RouteMatch match;
  std::string cluster;             // either cluster ...
  std::vector<SplitTarget> split;  // ... or a weighted split between clusters

  bool operator==(const Route&) const = default;
};

enum class ListenerProtocol { kHttp, kHttps, kTcp };

struct Tls {
  std::string certificate;  // PEM file, resolved relative to the config file
  std::string private_key;

  bool operator==(const Tls&) const = default;
};

// Protection of the listener against bad or slow clients (docs/configuration.md): these are
// the knobs nginx and HAProxy operators expect (client_header_timeout, large_client_header_buffers,
// client_max_body_size, keepalive_timeout), with the same spirit of defaults.
struct ListenerLimits {
  uint32_t max_header_bytes = 65536;     // request line + headers; over it: 431
  uint64_t max_body_bytes = 1ull << 30;  // request body; over it: 413 (0 = unlimited)
  uint32_t header_timeout_ms = 10000;    // whole header must arrive within it: else 408
  uint32_t idle_timeout_ms = 60000;      // keep-alive connection with no request: closed
  uint32_t max_connections = 100000;     // per listener across workers

  bool operator==(const ListenerLimits&) const = default;
};

// HTTP/2 towards clients (`http2:` of a listener; h2c and h2): what every new connection
// announces in its SETTINGS, as Envoy's http2_protocol_options and HAProxy's tune.h2.* do.
// A reload applies to connections made after it; established ones keep what they announced.
struct ListenerHttp2 {
  static constexpr uint32_t kMinWindow = 65535;       // RFC 9113's initial window
  static constexpr uint32_t kMaxValue = 0x7fffffff;   // 2^31-1, the protocol's ceiling
  uint32_t max_concurrent_streams = 100;              // more open at once: REFUSED_STREAM
  uint32_t initial_stream_window_bytes = 256 * 1024;  // each request body's receive window
  uint32_t connection_window_bytes = 1024 * 1024;     // all request bodies of a connection

  bool operator==(const ListenerHttp2&) const = default;
};

struct Listener {
  std::string name;
  HostPort address;
  ListenerProtocol protocol = ListenerProtocol::kHttp;
  std::optional<Tls> tls;
  std::vector<Route> routes;  // http/https
  std::string cluster;        // tcp
  ListenerLimits limits;
  ListenerHttp2 http2;  // http/https listeners

  bool operator==(const Listener&) const = default;
};

enum class DiscoveryKind { kStatic, kFile, kServerSet };
enum class ServerSetFormat { kServerSet, kCurator, kNerve };

struct StaticInstance {
  HostPort address;
  double weight = 1.0;

  bool operator==(const StaticInstance&) const = default;
};

struct Discovery {
  DiscoveryKind kind = DiscoveryKind::kStatic;
  std::vector<StaticInstance> static_instances;  // kStatic
  std::string file;                              // kFile, resolved relative to the config file
  std::string serverset;                         // kServerSet: ZooKeeper path
  std::string endpoint;  // named additionalEndpoint; empty = serviceEndpoint
  ServerSetFormat format = ServerSetFormat::kServerSet;

  bool operator==(const Discovery&) const = default;
};

enum class UpstreamProtocol { kHttp1, kH2c, kH2 };

enum class LoadBalancerKind {
  kRoundRobin,
  kWeightedRoundRobin,
  kLeastRequest,
  kP2cEwma,
  kRingHash,
  kMaglev,
};

struct Retries {
  uint32_t attempts = 2;  // extra tries after the first
  // connect-failure | refused-stream | reset | "5xx" codes such as "503"
  std::vector<std::string> on = {"connect-failure", "refused-stream", "reset"};
  uint32_t budget_percent = 20;
  // How long one try may wait for its response head before an idempotent request moves to
  // another instance. Unset ("auto", the default): adaptive, from the cluster's observed
  // latency (AdaptiveTimeout), and never the reason a request fails: once no retry is left the
  // try waits until request_timeout_ms. A number: that fixed deadline, whose expiry fails the
  // request (504) when it cannot move; 0 = no per-try deadline (request_timeout_ms only).
  std::optional<uint32_t> per_try_timeout_ms;

  bool operator==(const Retries&) const = default;
};

struct HealthCheck {
  std::string path = "/health";
  uint32_t interval_ms = 1000;
  uint32_t timeout_ms = 500;
  uint32_t unhealthy_after = 3;
  uint32_t healthy_after = 2;

  bool operator==(const HealthCheck&) const = default;
};

struct OutlierDetection {
  uint32_t consecutive_failures = 5;
  uint32_t base_ejection_ms = 30000;
  uint32_t max_ejected_percent = 50;

  bool operator==(const OutlierDetection&) const = default;
};

// TLS towards a cluster's instances (`tls:` of a cluster): HTTP/1.1 over TLS with protocol http1,
// and the TLS of protocol h2 (which uses the defaults when the key is absent).
struct UpstreamTls {
  std::string ca;           // PEM bundle the instances' certificates must chain to; empty = the
                            // system store. Resolved relative to the config file.
  std::string server_name;  // SNI and the name verified; empty = the instance's host (a DNS name
                            // is sent as SNI; an IP address is verified against IP SANs)
  bool verify = true;       // false: encrypt without checking the certificate (testing only)

  bool operator==(const UpstreamTls&) const = default;
};

// HTTP/2 towards a cluster's instances (`http2:` of an h2c/h2 cluster), as Envoy's
// connection_keepalive: a connection that received no frame for keepalive_interval_ms sends a
// PING; no frame back within keepalive_timeout_ms and it is dead (closed, its streams fail as
// lost and are retried by the usual rules).
struct ClusterHttp2 {
  // On by default: a frozen machine keeps its TCP connections open, and only a PING finds out.
  uint32_t keepalive_interval_ms = 10000;  // 0 = no keepalive PINGs
  uint32_t keepalive_timeout_ms = 5000;

  bool operator==(const ClusterHttp2&) const = default;
};

struct Cluster {
  std::string name;
  Discovery discovery;
  UpstreamProtocol protocol = UpstreamProtocol::kHttp1;
  // weighted_round_robin: in turn by weight, as HAProxy's, nginx's and Envoy's defaults; it
  // honours operator weights and slow start (round_robin ignores weights).
  LoadBalancerKind load_balancer = LoadBalancerKind::kWeightedRoundRobin;
  std::string hash_on;  // header:NAME | cookie:NAME | source_ip
  // A new instance's share ramps up over this time from its first answer (a cold JVM is not
  // flooded); 0 = off.
  uint32_t slow_start_ms = 5000;
  uint32_t connect_timeout_ms = 250;
  uint32_t request_timeout_ms = 15000;
  uint32_t idle_timeout_ms = 60000;
  uint32_t drain_timeout_ms = 30000;
  uint32_t max_connections_per_instance = 1024;
  Retries retries;
  std::optional<HealthCheck> health_check;
  OutlierDetection outlier_detection;
  uint32_t panic_threshold_percent = 50;
  std::optional<UpstreamTls> tls;
  ClusterHttp2 http2;  // h2c/h2 clusters

  // Whether connections to the instances speak TLS (protocol h2, or any protocol with tls:).
  bool usesTls() const { return tls.has_value() || protocol == UpstreamProtocol::kH2; }

  bool operator==(const Cluster&) const = default;
};

struct Weights {
  std::string zookeeper_path;  // "/switchyard/weights", or "serverset"

  bool operator==(const Weights&) const = default;
};

struct Admin {
  HostPort address{"127.0.0.1", 9901};
  std::string token_file;

  bool operator==(const Admin&) const = default;
};

enum class AccessLogFormat { kJson, kText };

struct AccessLog {
  std::string path;  // "-" = stdout; empty = off
  AccessLogFormat format = AccessLogFormat::kJson;

  bool operator==(const AccessLog&) const = default;
};

struct Config {
  std::string source_path;  // the file it was loaded from
  std::optional<ZooKeeper> zookeeper;
  uint32_t workers = 0;  // 0 = auto (number of cores)
  std::vector<Listener> listeners;
  std::vector<Cluster> clusters;
  std::optional<Weights> weights;
  Admin admin;
  AccessLog access_log;

  const Cluster* findCluster(std::string_view name) const {
    for (const auto& c : clusters)
      if (c.name == name) return &c;
    return nullptr;
  }

  bool operator==(const Config&) const = default;
};

// Names as written in the YAML file, for `GET /config`, messages and metrics labels.
const char* toString(ListenerProtocol p);
const char* toString(DiscoveryKind k);
const char* toString(ServerSetFormat f);
const char* toString(UpstreamProtocol p);
const char* toString(LoadBalancerKind k);
const char* toString(AccessLogFormat f);

}  // namespace switchyard::config
