#include "proxy/cluster_runtime.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <unordered_map>

#include "routing/effective_weight.h"

namespace switchyard::proxy {

namespace {

// A new instance starts with this share of its weight and ramps up to all of it (as Envoy's
// slow start's default min_weight_percent): never 0, so that it does get its first requests.
constexpr double kSlowStartMinFactor = 0.1;
// During slow start the balancer's view is rebuilt at most this often.
constexpr auto kSlowStartStep = std::chrono::milliseconds(250);

}  // namespace

ClusterRuntime::ClusterRuntime(std::shared_ptr<const routing::ClusterSnapshot> snapshot,
                               Random& random, const TimeSource& time)
    : time_(time),
      budget_(snapshot->config->retries.budget_percent),
      detector_(snapshot->config->outlier_detection),
      lb_(routing::makeLoadBalancer(snapshot->config->load_balancer, random, time)) {
  update(std::move(snapshot));
}

void ClusterRuntime::update(std::shared_ptr<const routing::ClusterSnapshot> snapshot) {
  const bool had_hosts = !hosts_.empty();
  std::unordered_map<std::string_view, std::shared_ptr<UpstreamHost>> old;
  old.reserve(hosts_.size());
  for (auto& h : hosts_) old.emplace(h->endpoint().id, std::move(h));

  const uint32_t max_conns = snapshot->config->max_connections_per_instance;
  const auto now = time_.now();
  // Instances that arrive while the cluster has none are not "new": they start together, and
  // ramping all of them would only turn traffic away.
  const bool slow_start = had_hosts && snapshot->config->slow_start_ms > 0;
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
    auto host = std::make_shared<UpstreamHost>(ep, max_conns);
    host->added_at = now;
    host->slow_starting = slow_start;
    hosts.push_back(std::move(host));
  }
  const auto drain = std::chrono::milliseconds(snapshot->config->drain_timeout_ms);
  for (auto& [id, host] : old) {
    host->depart();
    host->drain_deadline = now + drain;
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
  budget_.setPercent(snapshot_->config->retries.budget_percent);
  retry_on_reset_ = false;
  retry_statuses_.clear();
  for (const auto& on : snapshot_->config->retries.on) {
    if (on == "reset") retry_on_reset_ = true;
    // The config loader accepts three digits starting with 5 ("503"); other words are not ours.
    if (on.size() == 3 && on[0] == '5' && std::isdigit(static_cast<unsigned char>(on[1])) &&
        std::isdigit(static_cast<unsigned char>(on[2])))
      retry_statuses_.push_back(500u + static_cast<unsigned>((on[1] - '0') * 10 + (on[2] - '0')));
  }
  detector_.setConfig(snapshot_->config->outlier_detection);
  rebuildView(now);
}

void ClusterRuntime::rebuildView(TimePoint now) {
  const auto& config = *snapshot_->config;
  // Healthy: neither ejected, backing off from a refusal before its first connection, nor
  // failing active checks, among endpoints with a weight at all (one drained by discovery or an
  // operator is neither healthy nor unhealthy).
  size_t total = 0, healthy = 0;
  ejected_ = backing_off_ = slow_starting_ = 0;
  for (size_t i = 0; i < hosts_.size(); ++i) {
    const auto& ep = snapshot_->endpoints[i];
    auto& host = *hosts_[i];
    const bool backing_off = OutlierDetector::backingOff(host.outlier, now);
    host.stats.ejected = host.outlier.ejected ? 1 : 0;
    host.stats.starting = host.outlier.starting ? 1 : 0;
    host.stats.unhealthy = !ep.healthy;
    if (host.outlier.ejected) ++ejected_;
    if (backing_off) {
      backoff_ends_ = backing_off_ == 0 ? host.outlier.starting_until
                                        : std::min(backoff_ends_, host.outlier.starting_until);
      ++backing_off_;
    }
    if (routing::effectiveWeight(ep) <= 0) continue;
    ++total;
    if (ep.healthy && !host.outlier.ejected && !backing_off) ++healthy;
  }
  panic_ = total > 0 && healthy * 100 < uint64_t{config.panic_threshold_percent} * total;
  auto view = std::make_shared<routing::ClusterSnapshot>(*snapshot_);
  const auto ramp = std::chrono::milliseconds(config.slow_start_ms);
  for (size_t i = 0; i < hosts_.size(); ++i) {
    auto& host = *hosts_[i];
    double factor = 1.0;
    if (!panic_ && (host.outlier.ejected || !view->endpoints[i].healthy ||
                    OutlierDetector::backingOff(host.outlier, now)))
      factor = 0.0;
    if (host.slow_starting) {
      // The ramp starts with the first connection: an instance announced before it listens
      // has not begun to warm up.
      const auto elapsed = host.outlier.connected_once ? now - host.added_at : Clock::duration(0);
      if (ramp.count() == 0 || elapsed >= ramp) {
        host.slow_starting = false;
      } else {
        ++slow_starting_;
        const double share = std::chrono::duration<double>(elapsed) / ramp;
        factor *= std::max(kSlowStartMinFactor, share);
      }
    }
    view->endpoints[i].weight_factor = factor;
  }
  lb_->update(*view);
  previous_view_ = std::move(view_);
  view_ = std::move(view);
  view_built_at_ = now;
}

void ClusterRuntime::recordFailure(UpstreamHost& host) {
  if (host.departed()) return;
  const auto now = time_.now();
  if (!host.outlier.connected_once && now - host.added_at < OutlierDetector::kStartGrace) {
    // Not listening yet (or not any more, before this worker ever reached it): back off briefly.
    const bool first = !host.outlier.starting;
    detector_.onStartingFailure(host.outlier, now);
    if (first)
      spdlog::info(
          "cluster {}: instance {} refuses connections before its first one: starting, "
          "tried again in {} ms",
          name(), host.endpoint().id, OutlierDetector::kStartBackoffFirst.count());
    return rebuildView(now);
  }
  if (!detector_.onFailure(host.outlier, now, ejected_, hosts_.size())) return;
  ++host.stats.ejections;
  spdlog::warn(
      "cluster {}: instance {} ejected for {} ms (outlier detection, worker-local)", name(),
      host.endpoint().id,
      std::chrono::duration_cast<std::chrono::milliseconds>(host.outlier.ejected_until - now)
          .count());
  rebuildView(now);
}

void ClusterRuntime::firstConnection(UpstreamHost& host) {
  const auto now = time_.now();
  const bool was_starting = detector_.onConnected(host.outlier);
  if (was_starting)
    spdlog::info("cluster {}: instance {} accepted its first connection: in rotation", name(),
                 host.endpoint().id);
  if (host.slow_starting) host.added_at = now;  // the ramp begins now
  if (was_starting || host.slow_starting) rebuildView(now);
}

void ClusterRuntime::updateWeights(TimePoint now) {
  bool changed = false;
  // A back-off over: the instance gets traffic again (its weight back in the view).
  if (backing_off_ > 0 && now >= backoff_ends_) changed = true;
  if (ejected_ > 0)
    for (auto& h : hosts_)
      if (detector_.maybeReturn(h->outlier, now)) {
        spdlog::info("cluster {}: instance {} back from ejection", name(), h->endpoint().id);
        changed = true;
      }
  if (slow_starting_ > 0 && now - view_built_at_ >= kSlowStartStep) changed = true;
  if (changed) rebuildView(now);
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
  out.try_timeouts += try_timeouts;
  out.retry_budget_exhausted += budget_.exhausted();
  out.panic += panic_ ? 1 : 0;
  for (const auto& h : hosts_) out.instances[h->endpoint().id].merge(h->stats);
  for (const auto& [id, h] : departed_) {
    auto [it, inserted] = out.instances.try_emplace(id, h->stats);
    if (!inserted) it->second.merge(h->stats);
  }
  if (retired_.responses.total() || retired_.connects) out.instances["(departed)"].merge(retired_);
}

}  // namespace switchyard::proxy
