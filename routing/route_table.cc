#include "routing/route_table.h"

#include <boost/beast/core/string.hpp>

namespace switchyard::routing {

namespace {

int clusterIndex(const config::Config& config, const std::string& name) {
  for (size_t i = 0; i < config.clusters.size(); ++i)
    if (config.clusters[i].name == name) return static_cast<int>(i);
  return -1;
}

// The Host header without its port ("example.com:8080" -> "example.com", "[::1]:80" -> "[::1]").
std::string_view hostWithoutPort(std::string_view host) {
  if (!host.empty() && host.front() == '[') {
    auto close = host.find(']');
    return close == std::string_view::npos ? host : host.substr(0, close + 1);
  }
  auto colon = host.rfind(':');
  return colon == std::string_view::npos ? host : host.substr(0, colon);
}

}  // namespace

RouteTable::RouteTable(const std::vector<config::Route>& routes, const config::Config& config) {
  entries_.reserve(routes.size());
  for (const auto& r : routes) {
    Entry e;
    e.host = r.match.host;
    for (auto& c : e.host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    e.path_prefix = r.match.path_prefix;
    e.headers = r.match.headers;
    if (r.split.empty()) {
      e.cluster = clusterIndex(config, r.cluster);
    } else {
      for (const auto& t : r.split) {
        if (t.weight == 0) continue;
        e.total_weight += t.weight;
        e.split.push_back({clusterIndex(config, t.cluster), e.total_weight});
      }
    }
    entries_.push_back(std::move(e));
  }
}

int RouteTable::match(std::string_view host, std::string_view target,
                      const RequestHeaders& headers, Random& random) const {
  const std::string_view bare_host = hostWithoutPort(host);
  for (const auto& e : entries_) {
    if (!e.host.empty() && !boost::beast::iequals(bare_host, e.host)) continue;
    if (target.compare(0, e.path_prefix.size(), e.path_prefix) != 0) continue;
    bool headers_match = true;
    for (const auto& [name, value] : e.headers) {
      auto v = headers.get(name);
      if (!v || *v != value) {
        headers_match = false;
        break;
      }
    }
    if (!headers_match) continue;
    if (e.split.empty()) return e.cluster;
    if (e.total_weight == 0) return -1;
    const uint64_t ticket = random.below(e.total_weight);
    for (const auto& s : e.split)
      if (ticket < s.cumulative) return s.cluster;
    return e.split.back().cluster;
  }
  return -1;
}

}  // namespace switchyard::routing
