// Reads `clusters:`: discovery, upstream protocol, balancing, timeouts, retries, health checks
// and outlier detection of each cluster.

#include <algorithm>
#include <cctype>
#include <sstream>

#include "config/config_reader.h"
#include "config/edit_distance.h"
#include "config/section_readers.h"

namespace switchyard::config::detail {

namespace {

// The operator weight range of the admin API (1.0 = normal, 0 drains).
constexpr double kMaxInstanceWeight = 100.0;
constexpr uint32_t kMaxRetryAttempts = 10;

std::optional<StaticInstance> readStaticText(const YAML::Node& node, const std::string& path,
                                             Diagnostics& diag) {
  auto text = readString(node, path, diag);
  if (!text) return std::nullopt;
  // "HOST:PORT" or "HOST:PORT WEIGHT".
  std::istringstream in(*text);
  std::string address, weight, extra;
  in >> address >> weight >> extra;
  if (!extra.empty()) {
    diag.error(placeOf(node), path,
               "expected \"HOST:PORT\" or \"HOST:PORT WEIGHT\", got \"" + *text + "\"");
    return std::nullopt;
  }
  StaticInstance instance;
  auto parsed = parseHostPort(address);
  if (!parsed) {
    diag.error(placeOf(node), path, "bad address: " + parsed.error().message);
    return std::nullopt;
  }
  instance.address = parsed.value();
  if (!weight.empty()) {
    auto w = readNumber(YAML::Node(weight), path, diag, 0, kMaxInstanceWeight);
    if (!w) return std::nullopt;
    instance.weight = *w;
  }
  return instance;
}

std::optional<StaticInstance> readStaticItem(const YAML::Node& node, const std::string& path,
                                             Diagnostics& diag) {
  if (!node.IsMap()) {
    diag.remember(path, node.Mark());  // a weight parsed from the text points at the item
    return readStaticText(node, path, diag);
  }
  MapReader m(node, path, diag, {"address", "weight"});
  StaticInstance instance;
  const size_t before = diag.count();
  if (m.require("address")) m.readHostPort("address", instance.address);
  m.readDouble("weight", instance.weight, 0, kMaxInstanceWeight);
  if (diag.count() != before) return std::nullopt;
  return instance;
}

void readStatic(const MapReader& d, Diagnostics& diag, Discovery& discovery) {
  const YAML::Node list = d.get("static");
  // An empty list is allowed: a placeholder cluster answers 503 naming itself.
  forEachItem(list, d.pathOf("static"), diag, [&](const YAML::Node& item, const std::string& path) {
    auto instance = readStaticItem(item, path, diag);
    if (!instance) return;
    for (const auto& seen : discovery.static_instances)
      if (seen.address == instance->address) {
        diag.errorAt(path, "instance " + instance->address.str() + " is listed twice");
        return;
      }
    discovery.static_instances.push_back(*instance);
  });
}

void readDiscovery(const MapReader& c, const LoadContext& ctx, Discovery& discovery) {
  Diagnostics& diag = ctx.diag;
  MapReader d(c.get("discovery"), c.pathOf("discovery"), diag,
              {"static", "file", "serverset", "endpoint", "format"});
  if (!d.valid()) return;
  std::vector<std::string> kinds;
  for (const auto& [name, kind] : kDiscoveryKindNames)
    if (d.has(name)) {
      kinds.emplace_back(name);
      discovery.kind = kind;
    }
  if (kinds.empty()) {
    diag.error(d.mark(), d.path(), "discovery needs one of static, file or serverset");
    return;
  }
  if (kinds.size() > 1) {
    diag.error(d.mark(), d.path(),
               "discovery takes exactly one of static, file or serverset, got " + kinds[0] +
                   " and " + kinds[1]);
    return;
  }
  switch (discovery.kind) {
    case DiscoveryKind::kStatic:
      readStatic(d, diag, discovery);
      break;
    case DiscoveryKind::kFile:
      d.readString("file", discovery.file);
      discovery.file = ctx.resolve(discovery.file);
      break;
    case DiscoveryKind::kServerSet:
      d.readString("serverset", discovery.serverset);
      if (!discovery.serverset.empty() && discovery.serverset.front() != '/')
        diag.errorAt(d.pathOf("serverset"),
                     "a ZooKeeper path must start with \"/\", got \"" + discovery.serverset + "\"");
      break;
  }
  for (const char* key : {"endpoint", "format"})
    if (d.has(key) && discovery.kind != DiscoveryKind::kServerSet)
      diag.errorAt(d.pathOf(key), std::string(key) + " is only used with serverset discovery");
  d.readString("endpoint", discovery.endpoint);
  d.readEnum("format", discovery.format, NameTable<ServerSetFormat>(kServerSetFormatNames));
}

// RFC 9110 token characters: what a header or cookie name may hold. A name with a space or a
// colon would never match a request, so the cluster would silently hash everything alike.
bool isToken(std::string_view s) {
  static constexpr std::string_view kPunct = "!#$%&'*+-.^_`|~";
  if (s.empty()) return false;
  for (char ch : s) {
    const auto u = static_cast<unsigned char>(ch);
    if (!std::isalnum(u) && kPunct.find(ch) == std::string_view::npos) return false;
  }
  return true;
}

// header:NAME | cookie:NAME | source_ip. Header names are lower-cased like route matches.
void readHashOn(const MapReader& c, Diagnostics& diag, std::string& hash_on) {
  std::string text;
  const size_t before = diag.count();
  c.readString("hash_on", text);
  if (diag.count() != before) return;
  auto named = [&](std::string_view prefix) {
    return text.size() > prefix.size() && text.compare(0, prefix.size(), prefix) == 0;
  };
  if ((named("cookie:") || named("header:")) && !isToken(std::string_view(text).substr(7))) {
    diag.errorAt(c.pathOf("hash_on"), "bad hash_on \"" + text + "\": \"" + text.substr(7) +
                                          "\" is not a valid header or cookie name");
  } else if (text == "source_ip" || named("cookie:")) {
    hash_on = text;
  } else if (named("header:")) {
    hash_on = "header:" + toLower(text.substr(7));
  } else {
    diag.errorAt(c.pathOf("hash_on"),
                 "bad hash_on \"" + text + "\" (expected header:NAME, cookie:NAME or source_ip)");
  }
}

bool isRetryCondition(const std::string& s) {
  if (s == "connect-failure" || s == "refused-stream" || s == "reset") return true;
  return s.size() == 3 && s[0] == '5' && std::isdigit(static_cast<unsigned char>(s[1])) &&
         std::isdigit(static_cast<unsigned char>(s[2]));
}

void readRetries(const MapReader& c, Diagnostics& diag, Retries& retries) {
  MapReader r(c.get("retries"), c.pathOf("retries"), diag,
              {"attempts", "on", "budget_percent", "per_try_timeout_ms"});
  if (!r.valid()) return;
  r.readUint32("attempts", retries.attempts, 0, kMaxRetryAttempts);
  if (r.has("on")) {
    std::vector<std::string> on;
    forEachItem(r.get("on"), r.pathOf("on"), diag,
                [&](const YAML::Node& item, const std::string& path) {
                  auto s = readString(item, path, diag);
                  if (!s) return;
                  if (isRetryCondition(*s)) {
                    on.push_back(*s);
                    return;
                  }
                  std::string message =
                      "expected connect-failure, refused-stream, reset or a 5xx status such as "
                      "\"503\", got \"" +
                      *s + "\"";
                  if (auto hint = closestMatch(*s, {"connect-failure", "refused-stream", "reset"}))
                    message += " (did you mean \"" + *hint + "\"?)";
                  diag.error(placeOf(item), path, std::move(message));
                });
    retries.on = std::move(on);
  }
  r.readUint32("budget_percent", retries.budget_percent, 0, 100);
  // "auto" (the default) or a number of milliseconds.
  if (r.has("per_try_timeout_ms")) {
    const YAML::Node v = r.get("per_try_timeout_ms");
    if (v.IsScalar() && v.Scalar() == "auto") {
      retries.per_try_timeout_ms.reset();
    } else {
      if (auto n = readUnsigned(v, r.pathOf("per_try_timeout_ms"), diag, 0,
                                std::numeric_limits<uint32_t>::max()))
        retries.per_try_timeout_ms = static_cast<uint32_t>(*n);
    }
  }
}

void readHealthCheck(const MapReader& c, Diagnostics& diag, HealthCheck& hc) {
  MapReader h(c.get("health_check"), c.pathOf("health_check"), diag,
              {"path", "interval_ms", "timeout_ms", "unhealthy_after", "healthy_after"});
  if (!h.valid()) return;
  std::string path = hc.path;
  h.readString("path", path);
  if (path.front() != '/')
    diag.errorAt(h.pathOf("path"), "must start with \"/\", got \"" + path + "\"");
  else
    hc.path = path;
  h.readUint32("interval_ms", hc.interval_ms, 1);
  h.readUint32("timeout_ms", hc.timeout_ms, 1);
  h.readUint32("unhealthy_after", hc.unhealthy_after, 1);
  h.readUint32("healthy_after", hc.healthy_after, 1);
}

void readOutlierDetection(const MapReader& c, Diagnostics& diag, OutlierDetection& od) {
  MapReader o(c.get("outlier_detection"), c.pathOf("outlier_detection"), diag,
              {"consecutive_failures", "base_ejection_ms", "max_ejected_percent"});
  if (!o.valid()) return;
  o.readUint32("consecutive_failures", od.consecutive_failures, 1);
  o.readUint32("base_ejection_ms", od.base_ejection_ms, 1);
  o.readUint32("max_ejected_percent", od.max_ejected_percent, 0, 100);
}

void readClusterHttp2(const MapReader& c, Diagnostics& diag, ClusterHttp2& h2) {
  MapReader m(c.get("http2"), c.pathOf("http2"), diag,
              {"keepalive_interval_ms", "keepalive_timeout_ms"});
  if (!m.valid()) return;
  m.readUint32("keepalive_interval_ms", h2.keepalive_interval_ms);  // 0 = off
  m.readUint32("keepalive_timeout_ms", h2.keepalive_timeout_ms, 1);
}

// tls: { ca: FILE, server_name: NAME, verify: true|false }. An empty map is TLS with the system
// store and the instance's host as the name.
void readUpstreamTls(const MapReader& c, const LoadContext& ctx, UpstreamTls& tls) {
  Diagnostics& diag = ctx.diag;
  MapReader t(c.get("tls"), c.pathOf("tls"), diag, {"ca", "server_name", "verify"});
  if (!t.valid()) return;
  t.readString("ca", tls.ca);
  if (!tls.ca.empty()) tls.ca = ctx.resolve(tls.ca);
  if (t.has("server_name")) {
    std::string name;
    t.readString("server_name", name);
    const bool bad = std::any_of(name.begin(), name.end(), [](char ch) {
      return std::isspace(static_cast<unsigned char>(ch)) || ch == '/' || ch == '@';
    });
    if (bad)
      diag.errorAt(
          t.pathOf("server_name"),
          "expected a host name or IP address (no scheme, path or spaces), got \"" + name + "\"");
    else
      tls.server_name = name;
  }
  if (t.has("verify")) {
    auto choice = readChoice(t.get("verify"), t.pathOf("verify"), diag, {"true", "false"});
    if (choice) tls.verify = *choice == 0;
  }
  if (!tls.verify && t.has("ca"))
    diag.errorAt(t.pathOf("ca"), "ca is not used with verify: false (nothing is verified)");
}

void checkHashOn(const MapReader& c, const Cluster& cluster, bool balancer_ok, Diagnostics& diag) {
  if (!balancer_ok) return;
  const bool hashing = cluster.load_balancer == LoadBalancerKind::kRingHash ||
                       cluster.load_balancer == LoadBalancerKind::kMaglev;
  const std::string balancer = toString(cluster.load_balancer);
  if (hashing && !c.has("hash_on"))
    diag.errorAt(c.pathOf("load_balancer"),
                 balancer + " needs hash_on: header:NAME, cookie:NAME or source_ip");
  if (!hashing && c.has("hash_on"))
    diag.errorAt(c.pathOf("hash_on"),
                 "hash_on is only used by ring_hash and maglev, not by " + balancer);
}

Cluster readCluster(const YAML::Node& node, const std::string& path, const LoadContext& ctx) {
  Diagnostics& diag = ctx.diag;
  Cluster cluster;
  MapReader c(node, path, diag,
              {"name", "discovery", "protocol", "load_balancer", "hash_on", "slow_start_ms",
               "connect_timeout_ms", "request_timeout_ms", "idle_timeout_ms", "drain_timeout_ms",
               "max_connections_per_instance", "retries", "health_check", "outlier_detection",
               "panic_threshold_percent", "tls", "http2"});
  if (!c.valid()) return cluster;
  if (c.require("name")) c.readString("name", cluster.name);
  if (c.require("discovery")) readDiscovery(c, ctx, cluster.discovery);
  c.readEnum("protocol", cluster.protocol, NameTable<UpstreamProtocol>(kUpstreamProtocolNames));
  const size_t before = diag.count();
  c.readEnum("load_balancer", cluster.load_balancer,
             NameTable<LoadBalancerKind>(kLoadBalancerNames));
  const bool balancer_ok = diag.count() == before;
  if (c.has("hash_on")) readHashOn(c, diag, cluster.hash_on);
  checkHashOn(c, cluster, balancer_ok, diag);
  c.readUint32("slow_start_ms", cluster.slow_start_ms);
  c.readUint32("connect_timeout_ms", cluster.connect_timeout_ms, 1);
  c.readUint32("request_timeout_ms", cluster.request_timeout_ms, 1);
  c.readUint32("idle_timeout_ms", cluster.idle_timeout_ms, 1);
  c.readUint32("drain_timeout_ms", cluster.drain_timeout_ms);
  c.readUint32("max_connections_per_instance", cluster.max_connections_per_instance, 1);
  if (c.has("retries")) readRetries(c, diag, cluster.retries);
  if (c.has("health_check")) {
    cluster.health_check.emplace();
    readHealthCheck(c, diag, *cluster.health_check);
  }
  if (c.has("outlier_detection")) readOutlierDetection(c, diag, cluster.outlier_detection);
  c.readUint32("panic_threshold_percent", cluster.panic_threshold_percent, 0, 100);
  if (c.has("tls")) {
    cluster.tls.emplace();
    readUpstreamTls(c, ctx, *cluster.tls);
    if (cluster.protocol == UpstreamProtocol::kH2c)
      diag.errorAt(c.pathOf("tls"),
                   "h2c is HTTP/2 in cleartext: use protocol: h2 for HTTP/2 over TLS, or drop tls");
  }
  if (c.has("http2")) {
    readClusterHttp2(c, diag, cluster.http2);
    if (cluster.protocol == UpstreamProtocol::kHttp1)
      diag.errorAt(c.pathOf("http2"),
                   "http2 is for protocol h2c and h2 clusters; this one speaks http1");
  }
  return cluster;
}

}  // namespace

void readClusters(const YAML::Node& node, const std::string& path, const LoadContext& ctx,
                  std::vector<Cluster>& out) {
  forEachItem(node, path, ctx.diag, [&](const YAML::Node& item, const std::string& p) {
    out.push_back(readCluster(item, p, ctx));
  });
}

}  // namespace switchyard::config::detail
