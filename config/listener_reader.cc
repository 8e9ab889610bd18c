// Reads `listeners:`: addresses, protocol, TLS, limits and the route table of each listener.

#include <algorithm>
#include <cctype>

#include "config/config_reader.h"
#include "config/section_readers.h"

namespace switchyard::config::detail {

namespace {

// Split weights are relative; the cap keeps their sum far from overflow.
constexpr uint32_t kMaxSplitWeight = 1000000;

bool isHeaderNameChar(char c) {
  // RFC 9110 token characters.
  return std::isalnum(static_cast<unsigned char>(c)) ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

void readHeaders(const YAML::Node& node, const std::string& path, Diagnostics& diag,
                 RouteMatch& match) {
  if (!node.IsMap()) {
    diag.error(placeOf(node), path,
               "expected a map of header name to value, got " + describe(node));
    return;
  }
  for (auto it = node.begin(); it != node.end(); ++it) {
    auto name = readString(it->first, path, diag);
    if (!name) continue;
    const std::string item_path = path + "." + *name;
    diag.remember(item_path, it->first.Mark());
    if (!std::all_of(name->begin(), name->end(), isHeaderNameChar)) {
      diag.error(it->first.Mark(), item_path, "\"" + *name + "\" is not a valid header name");
      continue;
    }
    const std::string lower = toLower(*name);
    auto value = readString(it->second, item_path, diag, /*allow_empty=*/true);
    if (!value) continue;
    const bool duplicate = std::any_of(match.headers.begin(), match.headers.end(),
                                       [&](const auto& h) { return h.first == lower; });
    if (duplicate) {
      diag.error(it->first.Mark(), item_path,
                 "header \"" + lower + "\" is matched twice (names are case-insensitive)");
      continue;
    }
    match.headers.emplace_back(lower, *value);
  }
}

void readMatch(const YAML::Node& node, const std::string& path, Diagnostics& diag,
               RouteMatch& match) {
  MapReader m(node, path, diag, {"host", "path_prefix", "headers"});
  if (!m.valid()) return;
  m.readString("host", match.host, /*allow_empty=*/true);
  match.host = toLower(match.host);  // Host is case-insensitive: compare lower-case at runtime
  if (m.has("path_prefix")) {
    std::string prefix;
    m.readString("path_prefix", prefix);
    if (!prefix.empty() && prefix.front() != '/')
      diag.errorAt(m.pathOf("path_prefix"), "must start with \"/\", got \"" + prefix + "\"");
    else if (!prefix.empty())
      match.path_prefix = prefix;
  }
  if (m.has("headers")) readHeaders(m.get("headers"), m.pathOf("headers"), diag, match);
}

void readSplit(const MapReader& r, Diagnostics& diag, std::vector<SplitTarget>& split) {
  size_t weights_read = 0;
  const YAML::Node list = r.get("split");
  const bool is_list = forEachItem(list, r.pathOf("split"), diag,
                                   [&](const YAML::Node& item, const std::string& path) {
                                     MapReader s(item, path, diag, {"cluster", "weight"});
                                     if (!s.valid()) return;
                                     SplitTarget target;
                                     if (s.require("cluster"))
                                       s.readString("cluster", target.cluster);
                                     if (s.require("weight")) {
                                       const size_t before = diag.count();
                                       s.readUint32("weight", target.weight, 0, kMaxSplitWeight);
                                       if (diag.count() == before) ++weights_read;
                                     }
                                     split.push_back(std::move(target));
                                   });
  if (!is_list) return;
  if (list.size() == 0) {
    diag.errorAt(r.pathOf("split"), "a split needs at least one target");
    return;
  }
  const bool all_zero =
      std::all_of(split.begin(), split.end(), [](const SplitTarget& t) { return t.weight == 0; });
  // Only when every weight was read: a bad one already has its own error.
  if (weights_read == list.size() && all_zero)
    diag.errorAt(r.pathOf("split"), "split weights are all zero: at least one must be positive");
}

Route readRoute(const YAML::Node& node, const std::string& path, Diagnostics& diag) {
  Route route;
  MapReader r(node, path, diag, {"match", "cluster", "split"});
  if (!r.valid()) return route;
  if (r.has("match")) readMatch(r.get("match"), r.pathOf("match"), diag, route.match);
  const bool has_cluster = r.has("cluster");
  const bool has_split = r.has("split");
  if (has_cluster && has_split)
    diag.error(r.mark(), path, "a route names either cluster or split, not both");
  else if (!has_cluster && !has_split)
    diag.error(r.mark(), path, "a route needs cluster: NAME or split: [...]");
  r.readString("cluster", route.cluster);
  if (has_split) readSplit(r, diag, route.split);
  return route;
}

void readTls(const MapReader& l, const LoadContext& ctx, Tls& tls) {
  MapReader t(l.get("tls"), l.pathOf("tls"), ctx.diag, {"certificate", "private_key"});
  if (!t.valid()) return;
  if (t.require("certificate")) t.readString("certificate", tls.certificate);
  if (t.require("private_key")) t.readString("private_key", tls.private_key);
  tls.certificate = ctx.resolve(tls.certificate);
  tls.private_key = ctx.resolve(tls.private_key);
}

void readLimits(const MapReader& l, Diagnostics& diag, ListenerLimits& limits) {
  MapReader m(l.get("limits"), l.pathOf("limits"), diag,
              {"max_header_bytes", "max_body_bytes", "header_timeout_ms", "idle_timeout_ms",
               "max_connections"});
  if (!m.valid()) return;
  m.readUint32("max_header_bytes", limits.max_header_bytes, 1);
  m.readUint64("max_body_bytes", limits.max_body_bytes);  // 0 = unlimited
  m.readUint32("header_timeout_ms", limits.header_timeout_ms, 1);
  m.readUint32("idle_timeout_ms", limits.idle_timeout_ms, 1);
  m.readUint32("max_connections", limits.max_connections, 1);
}

void readHttp2(const MapReader& l, Diagnostics& diag, ListenerHttp2& h2) {
  MapReader m(l.get("http2"), l.pathOf("http2"), diag,
              {"max_concurrent_streams", "initial_stream_window_bytes", "connection_window_bytes"});
  if (!m.valid()) return;
  m.readUint32("max_concurrent_streams", h2.max_concurrent_streams, 1, ListenerHttp2::kMaxValue);
  m.readUint32("initial_stream_window_bytes", h2.initial_stream_window_bytes,
               ListenerHttp2::kMinWindow, ListenerHttp2::kMaxValue);
  m.readUint32("connection_window_bytes", h2.connection_window_bytes, ListenerHttp2::kMinWindow,
               ListenerHttp2::kMaxValue);
}

// Which of routes / cluster / tls a listener takes depends on its protocol.
void checkShape(const MapReader& l, const Listener& listener, Diagnostics& diag) {
  if (listener.protocol == ListenerProtocol::kTcp) {
    if (!l.has("cluster")) diag.error(l.mark(), l.path(), "a tcp listener needs cluster: NAME");
    if (l.has("routes"))
      diag.errorAt(l.pathOf("routes"), "a tcp listener takes cluster: NAME, not routes");
  } else {
    if (l.has("cluster"))
      diag.errorAt(l.pathOf("cluster"),
                   std::string("an ") + toString(listener.protocol) +
                       " listener takes routes, not cluster (cluster is for tcp listeners)");
    if (l.require("routes") && l.get("routes").IsSequence() && l.get("routes").size() == 0)
      diag.errorAt(l.pathOf("routes"), "at least one route is required");
  }
  if (listener.protocol == ListenerProtocol::kTcp && l.has("http2"))
    diag.errorAt(l.pathOf("http2"), "http2 is for http and https listeners, not tcp");
  if (listener.protocol == ListenerProtocol::kHttps && !l.has("tls"))
    diag.error(l.mark(), l.path(),
               "an https listener needs tls: { certificate: FILE, private_key: FILE }");
  if (listener.protocol != ListenerProtocol::kHttps && l.has("tls"))
    diag.errorAt(l.pathOf("tls"), "tls is only used by https listeners (protocol: https)");
}

Listener readListener(const YAML::Node& node, const std::string& path, const LoadContext& ctx) {
  Diagnostics& diag = ctx.diag;
  Listener listener;
  MapReader l(node, path, diag,
              {"name", "address", "protocol", "tls", "routes", "cluster", "limits", "http2"});
  if (!l.valid()) return listener;
  if (l.require("name")) l.readString("name", listener.name);
  if (l.require("address")) l.readHostPort("address", listener.address);
  bool protocol_ok = true;
  if (l.has("protocol")) {
    auto p = readEnum<ListenerProtocol>(l.get("protocol"), l.pathOf("protocol"), diag,
                                        kListenerProtocolNames);
    protocol_ok = p.has_value();
    if (p) listener.protocol = *p;
  }
  if (l.has("tls")) {
    listener.tls.emplace();
    readTls(l, ctx, *listener.tls);
  }
  if (l.has("routes"))
    forEachItem(l.get("routes"), l.pathOf("routes"), diag,
                [&](const YAML::Node& item, const std::string& item_path) {
                  listener.routes.push_back(readRoute(item, item_path, diag));
                });
  l.readString("cluster", listener.cluster);
  if (l.has("limits")) readLimits(l, diag, listener.limits);
  if (l.has("http2")) readHttp2(l, diag, listener.http2);
  if (protocol_ok) checkShape(l, listener, diag);
  return listener;
}

}  // namespace

void readListeners(const YAML::Node& node, const std::string& path, const LoadContext& ctx,
                   std::vector<Listener>& out) {
  const bool is_list =
      forEachItem(node, path, ctx.diag, [&](const YAML::Node& item, const std::string& p) {
        out.push_back(readListener(item, p, ctx));
      });
  if (is_list && node.size() == 0)
    ctx.diag.error(placeOf(node), path, "at least one listener is required");
}

}  // namespace switchyard::config::detail
