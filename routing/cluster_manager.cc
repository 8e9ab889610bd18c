#include "routing/cluster_manager.h"

#include <spdlog/spdlog.h>

#include "routing/hash_ring.h"
#include "routing/maglev_table.h"

namespace switchyard::routing {

struct ClusterManager::ClusterState {
  std::shared_ptr<const config::Cluster> config;
  uint32_t index = 0;
  std::unique_ptr<discovery::DiscoverySource> source;
  discovery::InstanceSet instances;
  std::shared_ptr<const ClusterSnapshot> snapshot;
  bool ready = false;
};

ClusterManager::ClusterManager(boost::asio::io_context& control, SourceFactory factory,
                               PublishCallback publish)
    : control_(control), factory_(std::move(factory)), publish_(std::move(publish)) {}

ClusterManager::~ClusterManager() { stop(); }

void ClusterManager::apply(std::shared_ptr<const config::Config> config) {
  std::vector<std::unique_ptr<ClusterState>> old = std::move(clusters_);
  // Route indexes may mean other routes now: splits go back to the file's.
  overrides_.clearSplits();
  clusters_.clear();
  config_ = std::move(config);
  std::vector<ClusterState*> to_start;
  for (uint32_t i = 0; i < config_->clusters.size(); ++i) {
    const auto& cc = config_->clusters[i];
    auto cfg = std::make_shared<const config::Cluster>(cc);
    // A cluster whose name and discovery settings are unchanged keeps its source and its set:
    // a reload must not make instances disappear while the source reads again.
    std::unique_ptr<ClusterState> state;
    for (auto& o : old)
      if (o && o->config->name == cc.name && o->config->discovery == cc.discovery) {
        state = std::move(o);
        break;
      }
    if (!state) {
      state = std::make_unique<ClusterState>();
      state->source = factory_(cc);
      if (!state->source)
        spdlog::error("cluster {}: discovery {} is not available in this build", cc.name,
                      config::toString(cc.discovery.kind));
      to_start.push_back(state.get());
    }
    state->config = cfg;
    state->index = i;
    state->snapshot = buildSnapshot(*state);
    clusters_.push_back(std::move(state));
  }
  for (auto& o : old)
    if (o && o->source) o->source->stop();
  publish();
  for (auto* state : to_start) {
    if (!state->source) continue;
    state->source->start(
        [this, state](discovery::InstanceSet set) { onUpdate(state, std::move(set)); });
  }
}

void ClusterManager::onUpdate(ClusterState* state, discovery::InstanceSet set) {
  const bool first = !state->ready;
  state->ready = true;
  if (!first && set == state->instances) return;
  spdlog::info("cluster {}: {} instance(s) from {}", state->config->name, set.instances.size(),
               state->source->describe());
  state->instances = std::move(set);
  state->snapshot = buildSnapshot(*state);
  publish();
}

std::shared_ptr<const ClusterSnapshot> ClusterManager::buildSnapshot(const ClusterState& state) {
  auto built = buildClusterSnapshot(state.config, state.index, state.instances, ++version_);
  const bool overridden = !overrides_.cluster(state.config->name).empty();
  const auto policy = state.config->load_balancer;
  const bool ring = policy == config::LoadBalancerKind::kRingHash;
  const bool maglev = policy == config::LoadBalancerKind::kMaglev;
  if (!overridden && !ring && !maglev) return built;
  auto copy = std::make_shared<ClusterSnapshot>(*built);
  if (overridden) overrides_.applyTo(state.config->name, copy->endpoints);
  // Once here rather than once per worker: the workers share it (routing/hash_ring.h).
  if (ring) copy->ring = HashRing::build(copy->endpoints);
  if (maglev) copy->maglev = MaglevTable::build(copy->endpoints);
  return copy;
}

bool ClusterManager::setClusterOverrides(const std::string& cluster, ClusterOverrides overrides) {
  if (!overrides_.setCluster(cluster, std::move(overrides))) return false;
  for (auto& c : clusters_)
    if (c->config->name == cluster) c->snapshot = buildSnapshot(*c);
  publish();
  return true;
}

void ClusterManager::setSplit(const std::string& listener, size_t route,
                              std::vector<config::SplitTarget> split) {
  overrides_.setSplit(listener, route, std::move(split));
  routes_changed_ = true;
  publish();
}

void ClusterManager::clearSplit(const std::string& listener, size_t route) {
  if (!overrides_.clearSplit(listener, route)) return;
  routes_changed_ = true;
  publish();
}

void ClusterManager::publish() {
  auto s = std::make_shared<RoutingSnapshot>();
  s->config = config_;
  s->version = ++version_;
  // Route tables depend on the configuration only: built once per apply(), shared afterwards.
  if (current_ && current_->config == config_ && !routes_changed_) {
    s->routes = current_->routes;
  } else {
    routes_changed_ = false;
    const config::Config routed =
        overrides_.hasSplits() ? overrides_.withSplits(*config_) : *config_;
    s->routes.reserve(routed.listeners.size());
    for (const auto& l : routed.listeners)
      s->routes.push_back(std::make_shared<const RouteTable>(l.routes, routed));
  }
  s->clusters.reserve(clusters_.size());
  for (const auto& c : clusters_) s->clusters.push_back(c->snapshot);
  current_ = s;
  publish_(std::move(s));
}

void ClusterManager::stop() {
  for (auto& c : clusters_)
    if (c->source) c->source->stop();
}

bool ClusterManager::ready() const {
  for (const auto& c : clusters_)
    if (!c->ready) return false;
  return true;
}

std::vector<ClusterManager::ClusterStatus> ClusterManager::status() const {
  std::vector<ClusterStatus> out;
  out.reserve(clusters_.size());
  for (const auto& c : clusters_)
    out.push_back({c->config->name, c->source ? c->source->describe() : "unavailable", c->ready,
                   c->instances, c->source ? c->source->status() : discovery::SourceStatus{}});
  return out;
}

}  // namespace switchyard::routing
