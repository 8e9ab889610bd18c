#pragma once
// Per-worker counters. Each worker owns its figures and is their only writer: no atomics, no
// locks on the request path. The admin API asks every worker for a copy (a StatsReport, posted
// back to the control thread) and sums them.

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace switchyard::proxy {

// Counts by status class: index 1..5 for 1xx..5xx, 0 for "no response" (connection closed).
struct StatusCounters {
  std::array<uint64_t, 6> by_class{};
  void add(unsigned status) { ++by_class[status >= 100 && status < 600 ? status / 100 : 0]; }
  void merge(const StatusCounters& o) {
    for (size_t i = 0; i < by_class.size(); ++i) by_class[i] += o.by_class[i];
  }
  uint64_t total() const {
    uint64_t t = 0;
    for (auto v : by_class) t += v;
    return t;
  }
};

// A fixed-bucket latency histogram (seconds in the exposition).
struct LatencyHistogram {
  static constexpr std::array<double, 14> kBoundsMs = {0.25, 0.5, 1,   2.5, 5,    10,   25,
                                                       50,   100, 250, 500, 1000, 2500, 10000};
  std::array<uint64_t, kBoundsMs.size() + 1> buckets{};  // last = +Inf
  uint64_t count = 0;
  double sum_seconds = 0;

  void observeMicros(uint64_t us) {
    const double ms = static_cast<double>(us) / 1000.0;
    size_t i = 0;
    while (i < kBoundsMs.size() && ms > kBoundsMs[i]) ++i;
    ++buckets[i];
    ++count;
    sum_seconds += ms / 1000.0;
  }
  void merge(const LatencyHistogram& o) {
    for (size_t i = 0; i < buckets.size(); ++i) buckets[i] += o.buckets[i];
    count += o.count;
    sum_seconds += o.sum_seconds;
  }
  // The latency below which `q` (0..1) of the observations fall, at bucket resolution.
  double quantileMs(double q) const;
};

struct ListenerStats {
  StatusCounters requests;
  LatencyHistogram latency;
  uint64_t connections_accepted = 0;
  int64_t connections_open = 0;
  // Accepted and closed at once: the listener had limits.max_connections open (all workers).
  uint64_t connections_rejected = 0;
  std::map<std::string, uint64_t> errors;  // x-switchyard-error cause -> count (rare path)
  // Tunnels (tcp listeners): bytes relayed from the client and to it.
  uint64_t bytes_received = 0;
  uint64_t bytes_sent = 0;
  // HTTP/2 connections (h2c and h2) and their streams; connections closed for a flood, by
  // H2FloodGuard kind name; connections nghttp2 closed for a protocol error.
  uint64_t http2_connections = 0;
  uint64_t http2_streams = 0;
  std::map<std::string, uint64_t> http2_flood_closed;
  uint64_t http2_protocol_errors = 0;
  // https listeners: TLS handshakes done, failed (a client not speaking TLS, no common cipher,
  // a reset) and timed out (not done within header_timeout_ms).
  uint64_t tls_handshakes = 0;
  uint64_t tls_handshake_failures = 0;
  uint64_t tls_handshake_timeouts = 0;

  void merge(const ListenerStats& o);
};

struct InstanceStats {
  StatusCounters responses;
  LatencyHistogram latency;
  uint64_t connects = 0;
  uint64_t connect_failures = 0;
  int64_t connections_open = 0;
  int64_t in_flight = 0;
  bool departed = false;   // left the set; still draining its requests
  uint64_t ejections = 0;  // times outlier detection ejected it (summed over workers)
  int64_t ejected = 0;     // workers on which it is ejected now
  // Workers on which it refused connections and has not accepted one yet (announced before it
  // listens): backed off briefly, never ejected for it.
  int64_t starting = 0;
  bool unhealthy = false;  // active health checks fail (the same on every worker)
  int32_t shard = -1;

  void merge(const InstanceStats& o);
};

struct ClusterStats {
  uint64_t no_instance = 0;  // requests answered 503 because nothing could take them
  uint64_t retries = 0;
  uint64_t try_timeouts = 0;            // tries past their adaptive per-try deadline
  uint64_t retry_budget_exhausted = 0;  // retries refused because the budget was spent
  uint64_t panic = 0;                   // workers routing to all instances (panic threshold)
  std::map<std::string, InstanceStats> instances;  // by instance id "host:port"
  void merge(const ClusterStats& o);
};

// A copy of one worker's figures (or the sum of several).
struct StatsReport {
  std::vector<ListenerStats> listeners;          // by listener index
  std::map<std::string, ClusterStats> clusters;  // by cluster name
  void merge(const StatsReport& o);
};

}  // namespace switchyard::proxy
