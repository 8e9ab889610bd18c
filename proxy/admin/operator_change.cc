#include "proxy/admin/operator_change.h"

#include <charconv>
#include <cmath>
#include <nlohmann/json.hpp>

namespace switchyard::proxy {

namespace {

using Json = nlohmann::json;

std::vector<std::string_view> segments(std::string_view path) {
  std::vector<std::string_view> out;
  size_t start = 1;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    out.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

const routing::ClusterSnapshot* findCluster(const routing::RoutingSnapshot& snapshot,
                                            std::string_view name) {
  for (const auto& c : snapshot.clusters)
    if (c && c->config->name == name) return c.get();
  return nullptr;
}

bool hasInstance(const routing::ClusterSnapshot& cluster, std::string_view id) {
  for (const auto& e : cluster.endpoints)
    if (e.id == id) return true;
  return false;
}

// The body as a JSON object, or the 400 that says why not.
std::variant<Json, AdminAnswer> parseBody(std::string_view body) {
  Json doc = Json::parse(body.begin(), body.end(), nullptr, false);
  if (doc.is_discarded()) return errorAnswer(400, "the body is not valid JSON");
  if (!doc.is_object()) return errorAnswer(400, "the body must be a JSON object");
  return doc;
}

// A weight in range, or the 400.
std::variant<double, AdminAnswer> readWeight(const Json& value, const std::string& what) {
  if (!value.is_number())
    return errorAnswer(400, what + " must be a number, got " + std::string(value.type_name()));
  const double w = value.get<double>();
  if (!std::isfinite(w) || w < 0 || w > routing::kMaxOperatorWeight)
    return errorAnswer(400, what + " must be between 0 and 100, got " + value.dump());
  return w;
}

}  // namespace

AdminAnswer errorAnswer(unsigned status, const std::string& message) {
  return {status, Json{{"error", message}}.dump() + "\n"};
}

bool isOperatorPath(std::string_view path) {
  auto s = segments(path);
  if (s.size() == 5 && s[0] == "clusters" && s[2] == "instances")
    return s[4] == "weight" || s[4] == "drain" || s[4] == "undrain";
  if (s.size() == 3 && s[0] == "clusters" && s[2] == "weights") return true;
  return s.size() == 4 && s[0] == "routes" && s[3] == "split";
}

std::variant<OperatorChange, AdminAnswer> parseOperatorChange(
    std::string_view path, std::string_view body, const config::Config& config,
    const routing::RoutingSnapshot& snapshot) {
  auto s = segments(path);
  OperatorChange change;
  if (s[0] == "routes") {
    change.kind = OperatorChange::Kind::kSplit;
    change.listener = std::string(s[1]);
    const config::Listener* listener = nullptr;
    for (const auto& l : config.listeners)
      if (l.name == change.listener) listener = &l;
    if (!listener) return errorAnswer(404, "no listener named \"" + change.listener + "\"");
    auto [end, ec] = std::from_chars(s[2].data(), s[2].data() + s[2].size(), change.route);
    if (ec != std::errc() || end != s[2].data() + s[2].size() ||
        change.route >= listener->routes.size())
      return errorAnswer(404, "listener \"" + change.listener + "\" has no route " +
                                  std::string(s[2]) + " (it has " +
                                  std::to_string(listener->routes.size()) + ", counted from 0)");
    auto parsed = parseBody(body);
    if (auto* a = std::get_if<AdminAnswer>(&parsed)) return *a;
    const Json& doc = std::get<Json>(parsed);
    if (!doc.contains("split") || !doc["split"].is_array() || doc["split"].empty())
      return errorAnswer(400, "expected {\"split\": [{\"cluster\": NAME, \"weight\": N}, ...]}");
    uint64_t total = 0;
    for (const auto& t : doc["split"]) {
      if (!t.is_object() || !t.contains("cluster") || !t["cluster"].is_string() ||
          !t.contains("weight"))
        return errorAnswer(400, "each split entry needs a \"cluster\" name and a \"weight\"");
      const std::string cluster = t["cluster"];
      if (!config.findCluster(cluster))
        return errorAnswer(404, "no cluster named \"" + cluster + "\"");
      const Json& w = t["weight"];
      if (!w.is_number_integer() || w.get<int64_t>() < 0 || w.get<int64_t>() > 1000000)
        return errorAnswer(400, "split weight of \"" + cluster +
                                    "\" must be an integer between 0 and 1000000, got " + w.dump());
      total += w.get<uint64_t>();
      change.split.push_back({cluster, static_cast<uint32_t>(w.get<int64_t>())});
    }
    if (total == 0) return errorAnswer(400, "split weights must not all be 0");
    return change;
  }

  change.cluster = std::string(s[1]);
  const routing::ClusterSnapshot* cluster = findCluster(snapshot, change.cluster);
  if (!cluster) return errorAnswer(404, "no cluster named \"" + change.cluster + "\"");
  auto unknownInstance = [&](std::string_view id) {
    return errorAnswer(
        404, "cluster \"" + change.cluster + "\" has no instance \"" + std::string(id) + "\"");
  };
  if (s.size() == 3) {  // /clusters/NAME/weights
    change.kind = OperatorChange::Kind::kWeights;
    auto parsed = parseBody(body);
    if (auto* a = std::get_if<AdminAnswer>(&parsed)) return *a;
    const Json& doc = std::get<Json>(parsed);
    if (doc.empty()) return errorAnswer(400, "expected {\"HOST:PORT\": WEIGHT, ...}");
    for (const auto& [id, value] : doc.items()) {
      auto w = readWeight(value, "the weight of " + id);
      if (auto* a = std::get_if<AdminAnswer>(&w)) return *a;
      if (!hasInstance(*cluster, id)) return unknownInstance(id);
      change.weights[id] = std::get<double>(w);
    }
    return change;
  }
  change.instance = std::string(s[3]);
  if (s[4] == "weight") {
    change.kind = OperatorChange::Kind::kWeights;
    auto parsed = parseBody(body);
    if (auto* a = std::get_if<AdminAnswer>(&parsed)) return *a;
    const Json& doc = std::get<Json>(parsed);
    if (!doc.contains("weight")) return errorAnswer(400, "expected {\"weight\": W}");
    auto w = readWeight(doc["weight"], "weight");
    if (auto* a = std::get_if<AdminAnswer>(&w)) return *a;
    if (!hasInstance(*cluster, change.instance)) return unknownInstance(change.instance);
    change.weights[change.instance] = std::get<double>(w);
    return change;
  }
  change.kind = s[4] == "drain" ? OperatorChange::Kind::kDrain : OperatorChange::Kind::kUndrain;
  if (!hasInstance(*cluster, change.instance)) return unknownInstance(change.instance);
  return change;
}

routing::ClusterOverrides applyChange(routing::ClusterOverrides overrides,
                                      const OperatorChange& change) {
  switch (change.kind) {
    case OperatorChange::Kind::kWeights:
      for (const auto& [id, w] : change.weights) overrides[id].weight = w;
      break;
    case OperatorChange::Kind::kDrain:
      overrides[change.instance].drained = true;
      break;
    case OperatorChange::Kind::kUndrain:
      if (auto it = overrides.find(change.instance); it != overrides.end()) {
        it->second.drained = false;
        if (!it->second.weight) overrides.erase(it);
      }
      break;
    case OperatorChange::Kind::kSplit:
      break;
  }
  return overrides;
}

std::string rewriteOverrides(const OperatorChange& change,
                             const std::optional<std::string>& current,
                             const routing::ClusterOverrides& fallback) {
  routing::ClusterOverrides base = fallback;
  if (current) {
    auto decoded = routing::decodeOverrides(*current);
    if (decoded) base = std::move(decoded.value());
  }
  return routing::encodeOverrides(applyChange(std::move(base), change));
}

AdminAnswer changedAnswer(const OperatorChange& change, const routing::ClusterOverrides& overrides,
                          const std::string& shared_at) {
  Json out;
  if (change.kind == OperatorChange::Kind::kSplit) {
    out["listener"] = change.listener;
    out["route"] = change.route;
    Json split = Json::array();
    for (const auto& t : change.split)
      split.push_back({{"cluster", t.cluster}, {"weight", t.weight}});
    out["split"] = std::move(split);
  } else {
    out["cluster"] = change.cluster;
    Json instances = Json::object();
    for (const auto& [id, o] : overrides) {
      Json i = {{"drained", o.drained}};
      if (o.weight) i["weight"] = *o.weight;
      instances[id] = std::move(i);
    }
    out["overrides"] = std::move(instances);
  }
  out["shared"] = shared_at;
  return {200, out.dump(2) + "\n"};
}

}  // namespace switchyard::proxy
