#include "proxy/cluster_runtime.h"

#include <spdlog/spdlog.h>

#include <unordered_map>

namespace switchyard::proxy {

ClusterRuntime::ClusterRuntime(std::shared_ptr<const routing::ClusterSnapshot> snapshot,
                               Random& random, const TimeSource& time)
    : lb_(routing::makeLoadBalancer(snapshot->config->load_balancer, random, time)) {
  update(std::move(snapshot));
}

void ClusterRuntime::update(std::shared_ptr<const routing::ClusterSnapshot> snapshot) {
  std::unordered_map<std::string_view, std::shared_ptr<UpstreamHost>> old;
  old.reserve(hosts_.size());
  for (auto& h : hosts_) old.emplace(h->endpoint().id, std::move(h));

  const uint32_t max_conns = snapshot->config->max_connections_per_instance;
  std::vector<std::shared_ptr<UpstreamHost>> hosts;
  hosts.reserve(snapshot->endpoints.size());
  for (const auto& ep : snapshot->endpoints) {
    auto it = old.find(ep.id);
    if (it != old.end() && it->second->endpoint().address == ep.address) {
      it->second->setMaxConnections(max_conns);
      hosts.push_back(std::move(it->second));
      old.erase(it);
      continue;
    }
    // A host that departed and came back (a re-join) starts afresh; its old self drains.
    hosts.push_back(std::make_shared<UpstreamHost>(ep, max_conns));
  }
  for (auto& [id, host] : old) {
    host->depart();
    departed_[host->endpoint().id] = std::move(host);
  }
  hosts_ = std::move(hosts);
  loads_.clear();
  for (const auto& h : hosts_) loads_.push_back(&h->load);
  if (!snapshot_ || snapshot_->config->hash_on != snapshot->config->hash_on) {
    auto key = routing::HashKey::parse(snapshot->config->hash_on);
    // The config loader validated hash_on already; should it not have, requests hash on nothing.
    if (!key) spdlog::error("cluster {}: {}", snapshot->config->name, key.error().message);
    hash_key_ = key ? *key : routing::HashKey();
  }
  snapshot_ = std::move(snapshot);
  lb_->update(*snapshot_);
}

std::shared_ptr<UpstreamHost> ClusterRuntime::pick(std::optional<uint64_t> hash,
                                                   const UpstreamHost* exclude) {
  int ex = -1;
  if (exclude) {
    for (size_t i = 0; i < hosts_.size(); ++i)
      if (hosts_[i].get() == exclude) ex = static_cast<int>(i);
  }
  routing::PickContext ctx;
  ctx.load = loads_;
  ctx.hash = hash.value_or(0);
  ctx.has_hash = hash.has_value();
  const int i = lb_->pick(ctx, ex);
  if (i < 0 || static_cast<size_t>(i) >= hosts_.size()) return nullptr;
  return hosts_[static_cast<size_t>(i)];
}

void ClusterRuntime::tick(TimePoint now) {
  const auto cutoff = now - std::chrono::milliseconds(snapshot_->config->idle_timeout_ms);
  for (auto& h : hosts_) h->closeIdleBefore(cutoff);
  for (auto it = departed_.begin(); it != departed_.end();) {
    // Only this map holds it: nothing in flight, no connection open.
    if (it->second.use_count() == 1 && it->second->stats.connections_open == 0) {
      retired_.merge(it->second->stats);
      it = departed_.erase(it);
    } else {
      ++it;
    }
  }
}

void ClusterRuntime::closeIdle() {
  for (auto& h : hosts_) h->closeIdleBefore(TimePoint::max());
}

void ClusterRuntime::addStats(ClusterStats& out) const {
  out.no_instance += no_instance;
  out.retries += retries;
  for (const auto& h : hosts_) out.instances[h->endpoint().id].merge(h->stats);
  for (const auto& [id, h] : departed_) {
    auto [it, inserted] = out.instances.try_emplace(id, h->stats);
    if (!inserted) it->second.merge(h->stats);
  }
  if (retired_.responses.total() || retired_.connects) out.instances["(departed)"].merge(retired_);
}

}  // namespace switchyard::proxy
