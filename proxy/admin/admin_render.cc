#include "proxy/admin/admin_render.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <set>

#include "proxy/h2_flood_guard.h"

namespace switchyard::proxy {

namespace {

constexpr const char* kClassLabels[] = {"none", "1xx", "2xx", "3xx", "4xx", "5xx"};

// Label values are escaped as the exposition format requires.
std::string esc(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') {
      out.append("\\n");
      continue;
    }
    out.push_back(c);
  }
  return out;
}

// Names come from the configuration and from ZooKeeper: escaped before they reach the page.
std::string htmlEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

class Writer {
 public:
  void family(std::string_view name, std::string_view type, std::string_view help) {
    fmt::format_to(out(), "# HELP switchyard_{} {}\n# TYPE switchyard_{} {}\n", name, help, name,
                   type);
  }
  template <class V>
  void sample(std::string_view name, std::string_view labels, V value) {
    if (labels.empty())
      fmt::format_to(out(), "switchyard_{} {}\n", name, value);
    else
      fmt::format_to(out(), "switchyard_{}{{{}}} {}\n", name, labels, value);
  }
  void histogram(std::string_view name, const std::string& labels, const LatencyHistogram& h) {
    uint64_t cumulative = 0;
    const std::string sep = labels.empty() ? "" : ",";
    for (size_t i = 0; i < h.buckets.size(); ++i) {
      cumulative += h.buckets[i];
      const std::string le = i < LatencyHistogram::kBoundsMs.size()
                                 ? fmt::format("{}", LatencyHistogram::kBoundsMs[i] / 1000.0)
                                 : "+Inf";
      fmt::format_to(out(), "switchyard_{}_bucket{{{}{}le=\"{}\"}} {}\n", name, labels, sep, le,
                     cumulative);
    }
    sample(std::string(name) + "_sum", labels, h.sum_seconds);
    sample(std::string(name) + "_count", labels, h.count);
  }
  std::string take() { return std::move(s_); }

 private:
  std::back_insert_iterator<std::string> out() { return std::back_inserter(s_); }
  std::string s_;
};

const ClusterStats* findClusterStats(const AdminView& v, const std::string& name) {
  auto it = v.stats->clusters.find(name);
  return it == v.stats->clusters.end() ? nullptr : &it->second;
}

}  // namespace

std::string renderPrometheus(const AdminView& v) {
  Writer w;
  w.family("ready", "gauge", "1 once every discovery source has been read once");
  w.sample("ready", "", v.ready ? 1 : 0);
  w.family("uptime_seconds", "gauge", "Seconds since the gateway started");
  w.sample("uptime_seconds", "", v.uptime_seconds);

  const auto& listeners = v.config->listeners;
  auto listenerLabel = [&](size_t i) {
    return fmt::format("listener=\"{}\"", esc(i < listeners.size() ? listeners[i].name : "?"));
  };
  w.family("downstream_requests_total", "counter", "Requests answered, by status class");
  for (size_t i = 0; i < v.stats->listeners.size(); ++i)
    for (size_t c = 0; c < 6; ++c)
      w.sample("downstream_requests_total",
               fmt::format("{},code_class=\"{}\"", listenerLabel(i), kClassLabels[c]),
               v.stats->listeners[i].requests.by_class[c]);
  w.family("downstream_request_duration_seconds", "histogram",
           "Time from the first byte of a request to the end of its answer");
  for (size_t i = 0; i < v.stats->listeners.size(); ++i)
    w.histogram("downstream_request_duration_seconds", listenerLabel(i),
                v.stats->listeners[i].latency);
  w.family("downstream_connections_open", "gauge", "Client connections open");
  for (size_t i = 0; i < v.stats->listeners.size(); ++i)
    w.sample("downstream_connections_open", listenerLabel(i),
             v.stats->listeners[i].connections_open);
  w.family("downstream_connections_total", "counter", "Client connections accepted");
  for (size_t i = 0; i < v.stats->listeners.size(); ++i)
    w.sample("downstream_connections_total", listenerLabel(i),
             v.stats->listeners[i].connections_accepted);
  w.family("downstream_connections_rejected_total", "counter",
           "Client connections closed on accept: the listener was at limits.max_connections");
  for (size_t i = 0; i < v.stats->listeners.size(); ++i)
    w.sample("downstream_connections_rejected_total", listenerLabel(i),
             v.stats->listeners[i].connections_rejected);
  w.family("downstream_tls_handshakes_total", "counter",
           "TLS handshakes on https listeners, by result (ok, failed, timeout)");
  for (size_t i = 0; i < v.stats->listeners.size(); ++i) {
    if (i >= listeners.size() || listeners[i].protocol != config::ListenerProtocol::kHttps)
      continue;
    const auto& l = v.stats->listeners[i];
    w.sample("downstream_tls_handshakes_total", listenerLabel(i) + ",result=\"ok\"",
             l.tls_handshakes);
    w.sample("downstream_tls_handshakes_total", listenerLabel(i) + ",result=\"failed\"",
             l.tls_handshake_failures);
    w.sample("downstream_tls_handshakes_total", listenerLabel(i) + ",result=\"timeout\"",
             l.tls_handshake_timeouts);
  }
  w.family("errors_total", "counter",
           "Answers of the gateway's own, by x-switchyard-error cause (tcp listeners: tunnels "
           "the gateway closed or could not open, by cause)");
  for (size_t i = 0; i < v.stats->listeners.size(); ++i)
    for (const auto& [cause, n] : v.stats->listeners[i].errors)
      w.sample("errors_total", fmt::format("{},cause=\"{}\"", listenerLabel(i), esc(cause)), n);
  auto isTcp = [&](size_t i) {
    return i < listeners.size() && listeners[i].protocol == config::ListenerProtocol::kTcp;
  };
  w.family("downstream_tunnel_received_bytes_total", "counter",
           "Bytes relayed from clients to instances (tcp listeners)");
  for (size_t i = 0; i < v.stats->listeners.size(); ++i)
    if (isTcp(i))
      w.sample("downstream_tunnel_received_bytes_total", listenerLabel(i),
               v.stats->listeners[i].bytes_received);
  w.family("downstream_tunnel_sent_bytes_total", "counter",
           "Bytes relayed from instances to clients (tcp listeners)");
  for (size_t i = 0; i < v.stats->listeners.size(); ++i)
    if (isTcp(i))
      w.sample("downstream_tunnel_sent_bytes_total", listenerLabel(i),
               v.stats->listeners[i].bytes_sent);
  w.family("http2_connections_total", "counter", "HTTP/2 client connections (h2c and h2)");
  for (size_t i = 0; i < v.stats->listeners.size(); ++i)
    if (!isTcp(i))
      w.sample("http2_connections_total", listenerLabel(i),
               v.stats->listeners[i].http2_connections);
  w.family("http2_streams_total", "counter", "HTTP/2 streams opened by clients");
  for (size_t i = 0; i < v.stats->listeners.size(); ++i)
    if (!isTcp(i))
      w.sample("http2_streams_total", listenerLabel(i), v.stats->listeners[i].http2_streams);
  w.family("http2_flood_closed_total", "counter",
           "HTTP/2 connections closed with GOAWAY for a flood, by kind");
  for (size_t i = 0; i < v.stats->listeners.size(); ++i)
    for (size_t k = 0; k < kFloodKinds && !isTcp(i); ++k) {
      const std::string kind(floodKindName(static_cast<FloodKind>(k)));
      const auto& closed = v.stats->listeners[i].http2_flood_closed;
      auto it = closed.find(kind);
      w.sample("http2_flood_closed_total", fmt::format("{},kind=\"{}\"", listenerLabel(i), kind),
               it == closed.end() ? 0 : it->second);
    }
  w.family("http2_protocol_errors_total", "counter",
           "HTTP/2 connections closed with GOAWAY for a protocol error (malformed frames)");
  for (size_t i = 0; i < v.stats->listeners.size(); ++i)
    if (!isTcp(i))
      w.sample("http2_protocol_errors_total", listenerLabel(i),
               v.stats->listeners[i].http2_protocol_errors);

  if (v.zookeeper) {
    const ZooKeeperView& zk = *v.zookeeper;
    w.family("zookeeper_connected", "gauge", "1 while the ZooKeeper session is connected");
    w.sample("zookeeper_connected", "", zk.connected ? 1 : 0);
    w.family("zookeeper_session_state", "gauge", "1 for the session's current state");
    for (const char* state : {"connecting", "connected", "suspended", "expired", "closed"})
      w.sample("zookeeper_session_state", fmt::format("state=\"{}\"", state),
               zk.state == state ? 1 : 0);
    w.family("zookeeper_sessions_total", "counter", "ZooKeeper sessions established");
    w.sample("zookeeper_sessions_total", "", zk.sessions);
    w.family("zookeeper_session_expirations_total", "counter", "ZooKeeper sessions expired");
    w.sample("zookeeper_session_expirations_total", "", zk.expirations);
    w.family("zookeeper_disconnections_total", "counter",
             "Connections to ZooKeeper lost while the session lived");
    w.sample("zookeeper_disconnections_total", "", zk.disconnections);
  }
  w.family("discovery_ready", "gauge", "1 once the cluster's discovery source has been read once");
  for (const auto& c : *v.clusters)
    w.sample("discovery_ready", fmt::format("cluster=\"{}\"", esc(c.name)), c.ready ? 1 : 0);
  w.family("discovery_rejected_members_total", "counter",
           "Members skipped: malformed, unresolvable, bad status");
  for (const auto& c : *v.clusters)
    for (const auto& [reason, n] : c.source_status.rejected)
      w.sample("discovery_rejected_members_total",
               fmt::format("cluster=\"{}\",reason=\"{}\"", esc(c.name), esc(reason)), n);
  w.family("discovery_holding_previous", "gauge",
           "1 while a set that became empty keeps its previous instances");
  for (const auto& c : *v.clusters)
    w.sample("discovery_holding_previous", fmt::format("cluster=\"{}\"", esc(c.name)),
             c.source_status.holding_previous ? 1 : 0);

  w.family("cluster_instances", "gauge", "Routable instances per cluster");
  if (v.snapshot)
    for (const auto& c : v.snapshot->clusters)
      if (c)
        w.sample("cluster_instances", fmt::format("cluster=\"{}\"", esc(c->config->name)),
                 c->endpoints.size());
  w.family("cluster_no_instance_total", "counter", "Requests answered 503: no instance available");
  w.family("cluster_retries_total", "counter", "Requests moved to another try");
  for (const auto& [name, c] : v.stats->clusters) {
    w.sample("cluster_no_instance_total", fmt::format("cluster=\"{}\"", esc(name)), c.no_instance);
    w.sample("cluster_retries_total", fmt::format("cluster=\"{}\"", esc(name)), c.retries);
  }
  w.family("cluster_retry_budget_exhausted_total", "counter",
           "Retries refused because the cluster's retry budget was spent");
  w.family("cluster_try_timeouts_total", "counter",
           "Tries with no response head within the adaptive per-try deadline");
  w.family("cluster_panic", "gauge",
           "Workers routing to every instance: fewer than panic_threshold_percent are healthy");
  for (const auto& [name, c] : v.stats->clusters) {
    w.sample("cluster_retry_budget_exhausted_total", fmt::format("cluster=\"{}\"", esc(name)),
             c.retry_budget_exhausted);
    w.sample("cluster_panic", fmt::format("cluster=\"{}\"", esc(name)), c.panic);
    w.sample("cluster_try_timeouts_total", fmt::format("cluster=\"{}\"", esc(name)),
             c.try_timeouts);
  }

  auto instLabel = [](const std::string& cluster, const std::string& id) {
    return fmt::format("cluster=\"{}\",instance=\"{}\"", esc(cluster), esc(id));
  };
  w.family("upstream_requests_total", "counter",
           "Upstream responses, by status class (none: tunnels of tcp listeners)");
  for (const auto& [name, c] : v.stats->clusters)
    for (const auto& [id, s] : c.instances)
      for (size_t k = 0; k < 6; ++k)
        w.sample("upstream_requests_total",
                 fmt::format("{},code_class=\"{}\"", instLabel(name, id), kClassLabels[k]),
                 s.responses.by_class[k]);
  w.family("upstream_request_duration_seconds", "histogram", "Upstream response times");
  for (const auto& [name, c] : v.stats->clusters)
    for (const auto& [id, s] : c.instances)
      w.histogram("upstream_request_duration_seconds", instLabel(name, id), s.latency);
  w.family("upstream_connects_total", "counter", "Upstream connections attempted");
  w.family("upstream_connect_failures_total", "counter", "Upstream connections that failed");
  w.family("upstream_connections_open", "gauge", "Upstream connections open (busy or idle)");
  w.family("upstream_in_flight", "gauge", "Requests in flight (and tunnels open) to the instance");
  w.family("upstream_ejections_total", "counter", "Outlier ejections (summed over workers)");
  w.family("upstream_ejected", "gauge", "Workers on which the instance is ejected now");
  w.family("upstream_healthy", "gauge", "0 while the instance fails its active health checks");
  w.family("upstream_starting", "gauge",
           "Workers on which the instance refused connections and has not accepted one yet");
  for (const auto& [name, c] : v.stats->clusters)
    for (const auto& [id, s] : c.instances) {
      const auto l = instLabel(name, id);
      w.sample("upstream_connects_total", l, s.connects);
      w.sample("upstream_connect_failures_total", l, s.connect_failures);
      w.sample("upstream_connections_open", l, s.connections_open);
      w.sample("upstream_in_flight", l, s.in_flight);
      w.sample("upstream_ejections_total", l, s.ejections);
      w.sample("upstream_ejected", l, s.ejected);
      w.sample("upstream_healthy", l, s.unhealthy ? 0 : 1);
      w.sample("upstream_starting", l, s.starting);
    }
  return w.take();
}

std::string renderClustersJson(const AdminView& v) {
  nlohmann::json out = nlohmann::json::object();
  out["ready"] = v.ready;
  if (v.zookeeper) {
    const ZooKeeperView& zk = *v.zookeeper;
    out["zookeeper"] = {{"servers", zk.servers},         {"state", zk.state},
                        {"session_id", zk.session_id},   {"sessions", zk.sessions},
                        {"expirations", zk.expirations}, {"disconnections", zk.disconnections}};
  }
  // Listeners with their connection figures; a tcp listener names its cluster and counts bytes.
  auto& listeners = out["listeners"] = nlohmann::json::array();
  for (size_t i = 0; i < v.config->listeners.size(); ++i) {
    const auto& l = v.config->listeners[i];
    const ListenerStats* s = i < v.stats->listeners.size() ? &v.stats->listeners[i] : nullptr;
    nlohmann::json j;
    j["name"] = l.name;
    j["address"] = l.address.str();
    j["protocol"] = config::toString(l.protocol);
    j["connections_open"] = s ? s->connections_open : 0;
    j["connections_total"] = s ? s->connections_accepted : 0;
    if (l.protocol == config::ListenerProtocol::kTcp) {
      j["cluster"] = l.cluster;
      j["bytes_received"] = s ? s->bytes_received : 0;
      j["bytes_sent"] = s ? s->bytes_sent : 0;
    }
    if (s && !s->errors.empty()) j["errors"] = s->errors;
    listeners.push_back(std::move(j));
  }
  auto& clusters = out["clusters"] = nlohmann::json::array();
  for (const auto& status : *v.clusters) {
    nlohmann::json c;
    c["name"] = status.name;
    c["discovery"] = status.source;
    c["ready"] = status.ready;
    if (!status.source_status.rejected.empty())
      c["rejected_members"] = status.source_status.rejected;
    if (status.source_status.holding_previous) c["holding_previous_instances"] = true;
    if (!status.source_status.detail.empty()) c["discovery_detail"] = status.source_status.detail;
    const auto* cs = findClusterStats(v, status.name);
    const routing::ClusterSnapshot* snap = nullptr;
    if (v.snapshot)
      for (const auto& s : v.snapshot->clusters)
        if (s && s->config->name == status.name) snap = s.get();
    if (snap) c["load_balancer"] = config::toString(snap->config->load_balancer);
    c["no_instance"] = cs ? cs->no_instance : 0;
    c["retries"] = cs ? cs->retries : 0;
    c["retry_budget_exhausted"] = cs ? cs->retry_budget_exhausted : 0;
    c["try_timeouts"] = cs ? cs->try_timeouts : 0;
    c["panic"] = cs ? cs->panic > 0 : false;
    auto& instances = c["instances"] = nlohmann::json::array();
    auto describe = [&](const std::string& id, const InstanceStats* s, bool routable, double weight,
                        int32_t shard) {
      nlohmann::json i;
      i["address"] = id;
      if (shard >= 0) i["shard"] = shard;
      i["weight"] = weight;
      i["status"] = routable ? "alive" : "draining";
      i["draining"] = !routable;
      i["in_flight"] = s ? s->in_flight : 0;
      i["connections"] = s ? s->connections_open : 0;
      i["requests"] = s ? s->responses.total() : 0;
      i["errors_5xx"] = s ? s->responses.by_class[5] : 0;
      i["connect_failures"] = s ? s->connect_failures : 0;
      // ctl's table reads "health": failing active checks, ejected on some worker, starting
      // (refused before its first connection: announced before it listens), or healthy.
      i["health"] = !s                ? "healthy"
                    : s->unhealthy    ? "unhealthy"
                    : s->ejected > 0  ? "ejected"
                    : s->starting > 0 ? "starting"
                                      : "healthy";
      i["ejections"] = s ? s->ejections : 0;
      i["latency_p50_ms"] = s ? s->latency.quantileMs(0.5) : 0;
      i["latency_p99_ms"] = s ? s->latency.quantileMs(0.99) : 0;
      instances.push_back(std::move(i));
    };
    std::set<std::string> seen;
    if (snap)
      for (const auto& ep : snap->endpoints) {
        const InstanceStats* s = nullptr;
        if (cs)
          if (auto it = cs->instances.find(ep.id); it != cs->instances.end()) s = &it->second;
        // An operator drain is shown as draining: no new traffic, in-flight requests finish.
        describe(ep.id, s, !ep.drained, ep.weight, ep.shard);
        if (ep.drained) instances.back()["operator_drained"] = true;
        seen.insert(ep.id);
      }
    if (cs)
      for (const auto& [id, s] : cs->instances)
        if (!seen.count(id) && id != "(departed)" && (s.in_flight > 0 || s.connections_open > 0))
          describe(id, &s, false, 0, s.shard);
    clusters.push_back(std::move(c));
  }
  return out.dump(2) + "\n";
}

std::string renderLivePage(const AdminView& v) {
  std::string html =
      "<!doctype html><html><head><meta charset=\"utf-8\"><title>Switchyard</title>"
      "<meta http-equiv=\"refresh\" content=\"2\">"
      "<style>body{font:14px system-ui,sans-serif;margin:2em;color:#222}"
      "table{border-collapse:collapse;margin-bottom:2em}td,th{padding:4px 10px;border-bottom:1px "
      "solid #ddd;text-align:right}th{background:#f4f4f4}td:first-child,th:first-child{text-align:"
      "left}.draining{color:#a60}.ok{color:#080}.bad{color:#c00}</style></head><body>";
  html += fmt::format("<h1>Switchyard</h1><p>{} &middot; up {:.0f} s</p>",
                      v.ready ? "<span class=ok>ready</span>" : "<span class=bad>not ready</span>",
                      v.uptime_seconds);
  if (v.zookeeper)
    html += fmt::format(
        "<p>ZooKeeper {}: <span class={}>{}</span> &middot; session {} &middot; "
        "{} expiries</p>",
        htmlEscape(v.zookeeper->servers), v.zookeeper->connected ? "ok" : "bad",
        htmlEscape(v.zookeeper->state), htmlEscape(v.zookeeper->session_id),
        v.zookeeper->expirations);
  auto json = nlohmann::json::parse(renderClustersJson(v));
  html +=
      "<table><tr><th>listener</th><th>protocol</th><th>address</th><th>to</th>"
      "<th>connections open</th><th>connections</th><th>bytes in</th><th>bytes out</th></tr>";
  for (const auto& l : json["listeners"]) {
    const bool tcp = l.contains("cluster");
    html += fmt::format(
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
        "<td>{}</td></tr>",
        htmlEscape(l["name"].get<std::string>()), htmlEscape(l["protocol"].get<std::string>()),
        htmlEscape(l["address"].get<std::string>()),
        tcp ? htmlEscape(l["cluster"].get<std::string>()) : "routes", l["connections_open"].dump(),
        l["connections_total"].dump(), tcp ? l["bytes_received"].dump() : "-",
        tcp ? l["bytes_sent"].dump() : "-");
  }
  html += "</table>";
  for (const auto& c : json["clusters"]) {
    html += fmt::format(
        "<h2>{}</h2><p>{} &middot; {} &middot; {}{}</p>", htmlEscape(c["name"].get<std::string>()),
        htmlEscape(c["discovery"].get<std::string>()),
        htmlEscape(c.value("load_balancer", std::string(""))),
        c["ready"].get<bool>() ? "read" : "waiting for discovery",
        c.value("holding_previous_instances", false)
            ? " &middot; <span class=bad>set empty: holding previous instances</span>"
            : "");
    html +=
        "<table><tr><th>instance</th><th>shard</th><th>status</th><th>health</th>"
        "<th>weight</th><th>in flight</th><th>connections</th><th>requests</th><th>5xx</th>"
        "<th>connect failures</th><th>p50 ms</th><th>p99 ms</th></tr>";
    for (const auto& i : c["instances"]) {
      const std::string status = i["status"];
      const std::string health = i["health"];
      html += fmt::format(
          "<tr><td>{}</td><td>{}</td><td class={}>{}</td><td class={}>{}</td><td>{}</td><td>{}"
          "</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
          htmlEscape(i["address"].get<std::string>()),
          i.contains("shard") ? i["shard"].dump() : "-", status == "alive" ? "ok" : "draining",
          status,
          health == "healthy"    ? "ok"
          : health == "starting" ? "draining"
                                 : "bad",
          health, i["weight"].dump(), i["in_flight"].dump(), i["connections"].dump(),
          i["requests"].dump(), i["errors_5xx"].dump(), i["connect_failures"].dump(),
          i["latency_p50_ms"].dump(), i["latency_p99_ms"].dump());
    }
    html += "</table>";
  }
  html += "</body></html>\n";
  return html;
}

}  // namespace switchyard::proxy
