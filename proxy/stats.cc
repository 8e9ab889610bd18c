#include "proxy/stats.h"

namespace switchyard::proxy {

double LatencyHistogram::quantileMs(double q) const {
  if (count == 0) return 0;
  const double want = q * static_cast<double>(count);
  uint64_t seen = 0;
  for (size_t i = 0; i < buckets.size(); ++i) {
    seen += buckets[i];
    if (static_cast<double>(seen) >= want)
      return i < kBoundsMs.size() ? kBoundsMs[i] : kBoundsMs.back();
  }
  return kBoundsMs.back();
}

void ListenerStats::merge(const ListenerStats& o) {
  requests.merge(o.requests);
  latency.merge(o.latency);
  connections_accepted += o.connections_accepted;
  connections_open += o.connections_open;
  connections_rejected += o.connections_rejected;
  bytes_received += o.bytes_received;
  bytes_sent += o.bytes_sent;
  for (const auto& [cause, n] : o.errors) errors[cause] += n;
  http2_connections += o.http2_connections;
  http2_streams += o.http2_streams;
  for (const auto& [kind, n] : o.http2_flood_closed) http2_flood_closed[kind] += n;
  http2_protocol_errors += o.http2_protocol_errors;
  tls_handshakes += o.tls_handshakes;
  tls_handshake_failures += o.tls_handshake_failures;
  tls_handshake_timeouts += o.tls_handshake_timeouts;
}

void InstanceStats::merge(const InstanceStats& o) {
  responses.merge(o.responses);
  latency.merge(o.latency);
  connects += o.connects;
  connect_failures += o.connect_failures;
  connections_open += o.connections_open;
  in_flight += o.in_flight;
  departed = departed && o.departed;
  ejections += o.ejections;
  ejected += o.ejected;
  starting += o.starting;
  unhealthy = unhealthy || o.unhealthy;
  if (shard < 0) shard = o.shard;
}

void ClusterStats::merge(const ClusterStats& o) {
  no_instance += o.no_instance;
  retries += o.retries;
  try_timeouts += o.try_timeouts;
  retry_budget_exhausted += o.retry_budget_exhausted;
  panic += o.panic;
  for (const auto& [id, s] : o.instances) {
    auto [it, inserted] = instances.try_emplace(id, s);
    if (!inserted) it->second.merge(s);
  }
}

void StatsReport::merge(const StatsReport& o) {
  if (listeners.size() < o.listeners.size()) listeners.resize(o.listeners.size());
  for (size_t i = 0; i < o.listeners.size(); ++i) listeners[i].merge(o.listeners[i]);
  for (const auto& [name, c] : o.clusters) clusters[name].merge(c);
}

}  // namespace switchyard::proxy
