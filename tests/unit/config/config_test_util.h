#pragma once
// Helpers shared by the configuration tests: load a string, print its errors on failure.

#include <gtest/gtest.h>

#include <string>

#include "config/config_loader.h"

namespace switchyard::config::testing {

inline std::string describeErrors(const LoadResult& r) {
  std::string out;
  for (const auto& e : r.errors) out += e.str() + "\n";
  return out;
}

// Loads text that must be valid; the test fails with every error printed otherwise.
inline Config loadValid(const std::string& yaml, const std::string& base_dir = ".") {
  LoadResult r = loadConfigString(yaml, "test.yaml", base_dir);
  EXPECT_TRUE(r.ok()) << describeErrors(r);
  return r.config;
}

// The one error `yaml` must produce: its "file:line:column: path: message" text.
inline std::string onlyError(const std::string& yaml) {
  LoadResult r = loadConfigString(yaml, "test.yaml");
  EXPECT_EQ(r.errors.size(), 1u) << describeErrors(r);
  return r.errors.empty() ? "" : r.errors.front().str();
}

// A valid minimal file: one listener, one route, one static cluster.
inline constexpr const char* kMinimal = R"(listeners:
  - name: web
    address: "127.0.0.1:8080"
    routes:
      - cluster: app
clusters:
  - name: app
    discovery:
      static: ["127.0.0.1:9001"]
)";

// A file with every section of docs/configuration.md, valid: every cluster a route names exists,
// ring_hash for hash_on, an https listener for its tls, a tcp listener and every discovery kind.
inline constexpr const char* kFull = R"(zookeeper:
  servers: "zk1:2181,zk2:2181/switchyard"
  session_timeout_ms: 8000

workers: 4

listeners:
  - name: web
    address: "0.0.0.0:8443"
    protocol: https
    tls: { certificate: server.pem, private_key: /etc/keys/server.key }
    routes:
      - match: { host: "API.example.com", path_prefix: "/v2/", headers: { X-Canary: "1", x-team: "" } }
        cluster: api-canary
      - match: { path_prefix: "/" }
        split:
          - { cluster: web, weight: 95 }
          - { cluster: web-next, weight: 5 }
    limits:
      max_header_bytes: 4096
      max_body_bytes: 0
      header_timeout_ms: 2000
      idle_timeout_ms: 5000
      max_connections: 10
  - name: db
    address: "[::1]:5433"
    protocol: tcp
    cluster: web-next

clusters:
  - name: web
    discovery:
      serverset: "/aurora/www-data/prod/web"
      endpoint: http
      format: curator
    protocol: http1
    load_balancer: ring_hash
    hash_on: "header:X-User-Id"
    slow_start_ms: 10000
    connect_timeout_ms: 300
    request_timeout_ms: 16000
    idle_timeout_ms: 61000
    drain_timeout_ms: 31000
    max_connections_per_instance: 512
    retries: { attempts: 3, on: [connect-failure, reset, "503"], budget_percent: 25, per_try_timeout_ms: 700 }
    health_check: { path: /healthz, interval_ms: 1500, timeout_ms: 400, unhealthy_after: 4, healthy_after: 1 }
    outlier_detection: { consecutive_failures: 6, base_ejection_ms: 20000, max_ejected_percent: 40 }
    panic_threshold_percent: 30
  - name: web-next
    discovery:
      static: ["127.0.0.1:9001", "127.0.0.1:9002 2.5", { address: "[::1]:9003", weight: 0 }]
    protocol: h2
    load_balancer: maglev
    hash_on: source_ip
  - name: api-canary
    discovery: { file: instances/api.yaml }
    protocol: h2c
    load_balancer: p2c_ewma

weights:
  zookeeper_path: "/switchyard/weights"

admin:
  address: "0.0.0.0:9901"
  token_file: admin.token

access_log: { path: logs/access.log, format: text }
)";

}  // namespace switchyard::config::testing
