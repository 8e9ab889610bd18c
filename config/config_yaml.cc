#include "config/config_yaml.h"

#include <yaml-cpp/yaml.h>

#include <charconv>

namespace switchyard::config {

namespace {

// Free text is always double-quoted: "-", "503", "*" or "yes" must come back as strings.
YAML::Emitter& text(YAML::Emitter& out, const std::string& s) {
  return out << YAML::DoubleQuoted << s;
}

// The shortest form that reads back as the same double.
std::string number(double v) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, ec == std::errc() ? end : buf);
}

void writeRoute(YAML::Emitter& out, const Route& route) {
  out << YAML::BeginMap << YAML::Key << "match" << YAML::Value << YAML::BeginMap;
  if (!route.match.host.empty()) text(out << YAML::Key << "host" << YAML::Value, route.match.host);
  text(out << YAML::Key << "path_prefix" << YAML::Value, route.match.path_prefix);
  if (!route.match.headers.empty()) {
    out << YAML::Key << "headers" << YAML::Value << YAML::BeginMap;
    for (const auto& [name, value] : route.match.headers)
      text(out << YAML::Key << name << YAML::Value, value);
    out << YAML::EndMap;
  }
  out << YAML::EndMap;
  if (!route.split.empty()) {
    out << YAML::Key << "split" << YAML::Value << YAML::BeginSeq;
    for (const auto& t : route.split) {
      out << YAML::Flow << YAML::BeginMap;
      text(out << YAML::Key << "cluster" << YAML::Value, t.cluster);
      out << YAML::Key << "weight" << YAML::Value << t.weight << YAML::EndMap;
    }
    out << YAML::EndSeq;
  } else {
    text(out << YAML::Key << "cluster" << YAML::Value, route.cluster);
  }
  out << YAML::EndMap;
}

void writeListener(YAML::Emitter& out, const Listener& l) {
  out << YAML::BeginMap;
  text(out << YAML::Key << "name" << YAML::Value, l.name);
  text(out << YAML::Key << "address" << YAML::Value, l.address.str());
  out << YAML::Key << "protocol" << YAML::Value << toString(l.protocol);
  if (l.tls) {
    out << YAML::Key << "tls" << YAML::Value << YAML::BeginMap;
    text(out << YAML::Key << "certificate" << YAML::Value, l.tls->certificate);
    text(out << YAML::Key << "private_key" << YAML::Value, l.tls->private_key);
    out << YAML::EndMap;
  }
  if (l.protocol == ListenerProtocol::kTcp) {
    text(out << YAML::Key << "cluster" << YAML::Value, l.cluster);
  } else {
    out << YAML::Key << "routes" << YAML::Value << YAML::BeginSeq;
    for (const auto& r : l.routes) writeRoute(out, r);
    out << YAML::EndSeq;
  }
  out << YAML::Key << "limits" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "max_header_bytes" << YAML::Value << l.limits.max_header_bytes;
  out << YAML::Key << "max_body_bytes" << YAML::Value << l.limits.max_body_bytes;
  out << YAML::Key << "header_timeout_ms" << YAML::Value << l.limits.header_timeout_ms;
  out << YAML::Key << "idle_timeout_ms" << YAML::Value << l.limits.idle_timeout_ms;
  out << YAML::Key << "max_connections" << YAML::Value << l.limits.max_connections;
  out << YAML::EndMap;
  if (l.protocol != ListenerProtocol::kTcp) {
    out << YAML::Key << "http2" << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "max_concurrent_streams" << YAML::Value << l.http2.max_concurrent_streams;
    out << YAML::Key << "initial_stream_window_bytes" << YAML::Value
        << l.http2.initial_stream_window_bytes;
    out << YAML::Key << "connection_window_bytes" << YAML::Value << l.http2.connection_window_bytes;
    out << YAML::EndMap;
  }
  out << YAML::EndMap;
}

void writeDiscovery(YAML::Emitter& out, const Discovery& d) {
  out << YAML::Key << "discovery" << YAML::Value << YAML::BeginMap;
  switch (d.kind) {
    case DiscoveryKind::kStatic:
      out << YAML::Key << "static" << YAML::Value << YAML::BeginSeq;
      for (const auto& i : d.static_instances)
        text(out, i.weight == 1.0 ? i.address.str() : i.address.str() + " " + number(i.weight));
      out << YAML::EndSeq;
      break;
    case DiscoveryKind::kFile:
      text(out << YAML::Key << "file" << YAML::Value, d.file);
      break;
    case DiscoveryKind::kServerSet:
      text(out << YAML::Key << "serverset" << YAML::Value, d.serverset);
      if (!d.endpoint.empty()) text(out << YAML::Key << "endpoint" << YAML::Value, d.endpoint);
      out << YAML::Key << "format" << YAML::Value << toString(d.format);
      break;
  }
  out << YAML::EndMap;
}

void writeCluster(YAML::Emitter& out, const Cluster& c) {
  out << YAML::BeginMap;
  text(out << YAML::Key << "name" << YAML::Value, c.name);
  writeDiscovery(out, c.discovery);
  out << YAML::Key << "protocol" << YAML::Value << toString(c.protocol);
  out << YAML::Key << "load_balancer" << YAML::Value << toString(c.load_balancer);
  if (!c.hash_on.empty()) text(out << YAML::Key << "hash_on" << YAML::Value, c.hash_on);
  out << YAML::Key << "slow_start_ms" << YAML::Value << c.slow_start_ms;
  out << YAML::Key << "connect_timeout_ms" << YAML::Value << c.connect_timeout_ms;
  out << YAML::Key << "request_timeout_ms" << YAML::Value << c.request_timeout_ms;
  out << YAML::Key << "idle_timeout_ms" << YAML::Value << c.idle_timeout_ms;
  out << YAML::Key << "drain_timeout_ms" << YAML::Value << c.drain_timeout_ms;
  out << YAML::Key << "max_connections_per_instance" << YAML::Value
      << c.max_connections_per_instance;

  out << YAML::Key << "retries" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "attempts" << YAML::Value << c.retries.attempts;
  out << YAML::Key << "on" << YAML::Value << YAML::Flow << YAML::BeginSeq;
  for (const auto& o : c.retries.on) text(out, o);
  out << YAML::EndSeq;
  out << YAML::Key << "budget_percent" << YAML::Value << c.retries.budget_percent;
  out << YAML::Key << "per_try_timeout_ms" << YAML::Value;
  if (c.retries.per_try_timeout_ms)
    out << *c.retries.per_try_timeout_ms;
  else
    out << "auto";
  out << YAML::EndMap;

  if (c.health_check) {
    const HealthCheck& h = *c.health_check;
    out << YAML::Key << "health_check" << YAML::Value << YAML::BeginMap;
    text(out << YAML::Key << "path" << YAML::Value, h.path);
    out << YAML::Key << "interval_ms" << YAML::Value << h.interval_ms;
    out << YAML::Key << "timeout_ms" << YAML::Value << h.timeout_ms;
    out << YAML::Key << "unhealthy_after" << YAML::Value << h.unhealthy_after;
    out << YAML::Key << "healthy_after" << YAML::Value << h.healthy_after;
    out << YAML::EndMap;
  }

  const OutlierDetection& od = c.outlier_detection;
  out << YAML::Key << "outlier_detection" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "consecutive_failures" << YAML::Value << od.consecutive_failures;
  out << YAML::Key << "base_ejection_ms" << YAML::Value << od.base_ejection_ms;
  out << YAML::Key << "max_ejected_percent" << YAML::Value << od.max_ejected_percent;
  out << YAML::EndMap;
  out << YAML::Key << "panic_threshold_percent" << YAML::Value << c.panic_threshold_percent;
  if (c.tls) {
    out << YAML::Key << "tls" << YAML::Value << YAML::BeginMap;
    if (!c.tls->ca.empty()) text(out << YAML::Key << "ca" << YAML::Value, c.tls->ca);
    if (!c.tls->server_name.empty())
      text(out << YAML::Key << "server_name" << YAML::Value, c.tls->server_name);
    out << YAML::Key << "verify" << YAML::Value << (c.tls->verify ? "true" : "false");
    out << YAML::EndMap;
  }
  if (c.protocol != UpstreamProtocol::kHttp1) {
    out << YAML::Key << "http2" << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "keepalive_interval_ms" << YAML::Value << c.http2.keepalive_interval_ms;
    out << YAML::Key << "keepalive_timeout_ms" << YAML::Value << c.http2.keepalive_timeout_ms;
    out << YAML::EndMap;
  }
  out << YAML::EndMap;
}

}  // namespace

std::string toYaml(const Config& config) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  if (config.zookeeper) {
    out << YAML::Key << "zookeeper" << YAML::Value << YAML::BeginMap;
    text(out << YAML::Key << "servers" << YAML::Value, config.zookeeper->servers);
    out << YAML::Key << "session_timeout_ms" << YAML::Value << config.zookeeper->session_timeout_ms;
    out << YAML::EndMap;
  }
  out << YAML::Key << "workers" << YAML::Value;
  if (config.workers == 0)
    out << "auto";
  else
    out << config.workers;

  out << YAML::Key << "listeners" << YAML::Value << YAML::BeginSeq;
  for (const auto& l : config.listeners) writeListener(out, l);
  out << YAML::EndSeq;
  out << YAML::Key << "clusters" << YAML::Value << YAML::BeginSeq;
  for (const auto& c : config.clusters) writeCluster(out, c);
  out << YAML::EndSeq;

  if (config.weights) {
    out << YAML::Key << "weights" << YAML::Value << YAML::BeginMap;
    text(out << YAML::Key << "zookeeper_path" << YAML::Value, config.weights->zookeeper_path);
    out << YAML::EndMap;
  }
  out << YAML::Key << "admin" << YAML::Value << YAML::BeginMap;
  text(out << YAML::Key << "address" << YAML::Value, config.admin.address.str());
  if (!config.admin.token_file.empty())
    text(out << YAML::Key << "token_file" << YAML::Value, config.admin.token_file);
  out << YAML::EndMap;
  out << YAML::Key << "access_log" << YAML::Value << YAML::BeginMap;
  text(out << YAML::Key << "path" << YAML::Value, config.access_log.path);
  out << YAML::Key << "format" << YAML::Value << toString(config.access_log.format);
  out << YAML::EndMap;
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

}  // namespace switchyard::config
