#include "routing/shared_splits.h"

#include <spdlog/spdlog.h>
#include <zookeeper/zookeeper.h>

#include <nlohmann/json.hpp>

namespace switchyard::routing {

using Json = nlohmann::json;

SharedSplits::SharedSplits(boost::asio::io_context& control, discovery::ZkSession& session,
                           ClusterManager& clusters, std::string base)
    : clusters_(clusters),
      base_(base == "/" ? "" : std::move(base)),
      source_(control, session,
              [this](const std::string& key, const std::optional<std::string>& data) {
                onNode(key, data);
              }) {}

std::string SharedSplits::keyText(const Key& key) {
  return key.first + "/" + std::to_string(key.second);
}

std::string SharedSplits::pathOf(const std::string& listener, size_t route) const {
  return base_ + "/_routes/" + keyText({listener, route});
}

void SharedSplits::watch(std::shared_ptr<const config::Config> config) {
  config_ = std::move(config);
  keys_.clear();
  std::map<std::string, std::string> paths;
  for (const auto& l : config_->listeners)
    for (size_t i = 0; i < l.routes.size(); ++i) {
      const Key key{l.name, i};
      keys_[keyText(key)] = key;
      paths[keyText(key)] = pathOf(l.name, i);
    }
  // A reload went back to the file's splits (ClusterManager::apply): the shared ones that still
  // name a route and known clusters apply again. Nodes read from now on replace them.
  for (auto it = applied_.begin(); it != applied_.end();) {
    bool valid = keys_.count(keyText(it->first)) > 0;
    for (const auto& t : it->second) valid = valid && config_->findCluster(t.cluster) != nullptr;
    if (!valid) {
      it = applied_.erase(it);
      continue;
    }
    clusters_.setSplit(it->first.first, it->first.second, it->second);
    ++it;
  }
  source_.watch(paths);
}

void SharedSplits::stop() { source_.stop(); }

void SharedSplits::onNode(const std::string& key_text, const std::optional<std::string>& data) {
  auto k = keys_.find(key_text);
  if (k == keys_.end() || !config_) return;
  const Key key = k->second;
  if (!data) {
    if (applied_.erase(key) > 0) {
      clusters_.clearSplit(key.first, key.second);
      spdlog::info("listener {} route {}: shared split removed; the file's applies", key.first,
                   key.second);
    }
    return;
  }
  auto split = decode(*data, *config_);
  if (!split) {
    spdlog::warn("listener {} route {}: split at {}: {}; keeping the last one", key.first,
                 key.second, pathOf(key.first, key.second), split.error().message);
    return;
  }
  auto it = applied_.find(key);
  if (it != applied_.end() && it->second == split.value()) return;
  applied_[key] = split.value();
  clusters_.setSplit(key.first, key.second, std::move(split.value()));
  spdlog::info("listener {} route {}: split changed (from ZooKeeper)", key.first, key.second);
}

void SharedSplits::write(const std::string& listener, size_t route,
                         std::vector<config::SplitTarget> split, std::function<void(int rc)> done) {
  const Key key{listener, route};
  if (!keys_.count(keyText(key))) return done(ZNONODE);
  const std::string data = encode(split);
  // The whole split is replaced: the read-modify-write has nothing to merge, but it creates the
  // node (and its parents) like a weights node.
  source_.update(
      keyText(key), [data](const std::optional<std::string>&) { return data; },
      [this, key, split = std::move(split), done = std::move(done)](int rc, const std::string&) {
        if (rc == ZOK) {
          applied_[key] = split;
          clusters_.setSplit(key.first, key.second, split);
        }
        done(rc);
      });
}

std::string SharedSplits::encode(const std::vector<config::SplitTarget>& split) {
  Json targets = Json::array();
  for (const auto& t : split) targets.push_back({{"cluster", t.cluster}, {"weight", t.weight}});
  return Json{{"split", std::move(targets)}}.dump();
}

Result<std::vector<config::SplitTarget>> SharedSplits::decode(std::string_view data,
                                                              const config::Config& config) {
  Json doc = Json::parse(data.begin(), data.end(), nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("split") ||
      !doc["split"].is_array() || doc["split"].empty())
    return makeError(R"(expected {"split": [{"cluster": NAME, "weight": N}, ...]})");
  std::vector<config::SplitTarget> out;
  uint64_t total = 0;
  for (const auto& t : doc["split"]) {
    if (!t.is_object() || !t.contains("cluster") || !t["cluster"].is_string() ||
        !t.contains("weight") || !t["weight"].is_number_integer())
      return makeError("each split entry needs a \"cluster\" name and an integer \"weight\"");
    const std::string cluster = t["cluster"];
    if (!config.findCluster(cluster)) return makeError("no cluster named \"" + cluster + "\"");
    const int64_t w = t["weight"].get<int64_t>();
    if (w < 0 || w > 1000000)
      return makeError("split weight of \"" + cluster + "\" must be between 0 and 1000000");
    total += static_cast<uint64_t>(w);
    out.push_back({cluster, static_cast<uint32_t>(w)});
  }
  if (total == 0) return makeError("split weights must not all be 0");
  return out;
}

}  // namespace switchyard::routing
