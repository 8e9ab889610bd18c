#include "routing/operator_overrides.h"

#include <cmath>
#include <nlohmann/json.hpp>

namespace switchyard::routing {

namespace {
constexpr std::string_view kInet = "inet=";

bool validWeight(const nlohmann::json& w) {
  return w.is_number() && std::isfinite(w.get<double>()) && w.get<double>() >= 0;
}
}  // namespace

std::string encodeOverrides(const ClusterOverrides& overrides) {
  nlohmann::json vector = nlohmann::json::array();
  for (const auto& [id, o] : overrides) {
    if (!o.drained && !o.weight) continue;
    nlohmann::json entry = {{"select", std::string(kInet) + id}};
    if (o.drained) {
      entry["weight"] = 0.0;
      entry["drained"] = true;
      if (o.weight) entry["undrained_weight"] = *o.weight;
    } else {
      entry["weight"] = *o.weight;
    }
    vector.push_back(std::move(entry));
  }
  return nlohmann::json{{"vector", std::move(vector)}}.dump();
}

Result<ClusterOverrides> decodeOverrides(std::string_view data) {
  if (data.empty()) return ClusterOverrides{};  // a node created empty: no override
  auto doc = nlohmann::json::parse(data.begin(), data.end(), nullptr, false);
  if (doc.is_discarded()) return makeError("not valid JSON");
  if (!doc.is_object() || !doc.contains("vector") || !doc["vector"].is_array())
    return makeError("no \"vector\" array");
  ClusterOverrides out;
  for (const auto& entry : doc["vector"]) {
    if (!entry.is_object() || !entry.contains("select") || !entry["select"].is_string())
      return makeError("an entry without a \"select\" string");
    const std::string select = entry["select"];
    if (!select.starts_with(kInet)) continue;  // member= and shard= are discovery's business
    const std::string id = select.substr(kInet.size());
    if (!entry.contains("weight") || !validWeight(entry["weight"]))
      return makeError(select + ": weight is not a number >= 0");
    InstanceOverride& o = out[id];
    if (entry.value("drained", false) == true) {
      o.drained = true;
      if (entry.contains("undrained_weight") && validWeight(entry["undrained_weight"]))
        o.weight = entry["undrained_weight"].get<double>();
    } else {
      // Several selectors for one address multiply, as Finagle's do.
      o.weight = o.weight.value_or(1.0) * entry["weight"].get<double>();
    }
  }
  return out;
}

const ClusterOverrides& OperatorOverrides::cluster(const std::string& name) const {
  auto it = clusters_.find(name);
  return it == clusters_.end() ? none_ : it->second;
}

bool OperatorOverrides::setCluster(const std::string& name, ClusterOverrides overrides) {
  std::erase_if(overrides, [](const auto& e) { return !e.second.drained && !e.second.weight; });
  auto it = clusters_.find(name);
  if (it == clusters_.end()) {
    if (overrides.empty()) return false;
    clusters_.emplace(name, std::move(overrides));
    return true;
  }
  if (it->second == overrides) return false;
  if (overrides.empty())
    clusters_.erase(it);
  else
    it->second = std::move(overrides);
  return true;
}

void OperatorOverrides::applyTo(const std::string& cluster,
                                std::vector<Endpoint>& endpoints) const {
  auto it = clusters_.find(cluster);
  if (it == clusters_.end()) return;
  for (auto& e : endpoints) {
    auto o = it->second.find(e.id);
    if (o == it->second.end()) continue;
    if (o->second.drained) {
      e.weight = 0;
      e.drained = true;
    } else if (o->second.weight) {
      e.weight *= *o->second.weight;
    }
  }
}

const std::vector<config::SplitTarget>* OperatorOverrides::split(const std::string& listener,
                                                                 size_t route) const {
  auto it = splits_.find({listener, route});
  return it == splits_.end() ? nullptr : &it->second;
}

void OperatorOverrides::setSplit(const std::string& listener, size_t route,
                                 std::vector<config::SplitTarget> split) {
  splits_[{listener, route}] = std::move(split);
}

config::Config OperatorOverrides::withSplits(const config::Config& config) const {
  config::Config out = config;
  for (auto& l : out.listeners)
    for (size_t i = 0; i < l.routes.size(); ++i)
      if (const auto* s = split(l.name, i)) {
        l.routes[i].cluster.clear();
        l.routes[i].split = *s;
      }
  return out;
}

}  // namespace switchyard::routing
