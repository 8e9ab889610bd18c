#include "proxy/health_checker.h"

#include <spdlog/spdlog.h>

#include <set>

#include "proxy/tls_client_context.h"

namespace switchyard::proxy {

namespace {
// How often due probes are looked for: the resolution of interval_ms.
constexpr auto kResolution = std::chrono::milliseconds(50);
}  // namespace

HealthChecker::HealthChecker(boost::asio::io_context& control, std::function<void()> on_change)
    : control_(control), on_change_(std::move(on_change)), timer_(control) {}

HealthChecker::~HealthChecker() { stop(); }

void HealthChecker::stop() {
  stopped_ = true;
  timer_.cancel();
  // Dropping the probes cancels them and closes the HTTP/2 connections they keep.
  clusters_.clear();
}

size_t HealthChecker::unhealthyCount(const std::string& cluster) const {
  auto it = clusters_.find(cluster);
  if (it == clusters_.end()) return 0;
  size_t n = 0;
  for (const auto& [id, t] : it->second.targets) n += t->healthy ? 0 : 1;
  return n;
}

std::shared_ptr<const routing::RoutingSnapshot> HealthChecker::decorate(
    std::shared_ptr<const routing::RoutingSnapshot> snapshot) {
  if (stopped_) return snapshot;
  std::set<std::string> checked;
  bool any_unhealthy = false;
  for (const auto& cs : snapshot->clusters) {
    if (!cs || !cs->config->health_check) continue;
    const auto& name = cs->config->name;
    checked.insert(name);
    auto& c = clusters_[name];
    const bool transport_changed = followTransport(c, cs->config);
    if (transport_changed || c.config != *cs->config->health_check) {
      c.config = *cs->config->health_check;
      c.targets.clear();  // a new check starts from scratch
      ++c.verdicts;
    }
    std::set<std::string> ids;
    for (const auto& ep : cs->endpoints) {
      ids.insert(ep.id);
      auto& t = c.targets[ep.id];
      if (t && t->where.address != ep.address) t.reset();
      if (!t) {
        t = std::make_unique<Target>();
        t->probe = HealthProbeSession::create(control_, c.protocol);
        t->where.id = ep.id;
        t->where.address = ep.address;
        t->where.path = c.config.path;
      }
      // The context of the latest configuration: the next connection uses it.
      t->where.tls = c.tls;
      t->where.unusable = c.tls ? std::string() : c.tls_error;
      if (!t->healthy) any_unhealthy = true;
    }
    for (auto it = c.targets.begin(); it != c.targets.end();)
      it = ids.count(it->first) ? std::next(it) : c.targets.erase(it);
  }
  for (auto it = clusters_.begin(); it != clusters_.end();)
    it = checked.count(it->first) ? std::next(it) : clusters_.erase(it);
  if (!armed_ && !clusters_.empty()) arm();
  if (!any_unhealthy) return snapshot;

  auto out = std::make_shared<routing::RoutingSnapshot>(*snapshot);
  for (auto& cs : out->clusters) {
    if (!cs || !cs->config->health_check) continue;
    auto& c = clusters_[cs->config->name];
    if (c.source != cs.get() || c.source_verdicts != c.verdicts || !c.decorated) {
      auto copy = std::make_shared<routing::ClusterSnapshot>(*cs);
      for (auto& ep : copy->endpoints) {
        auto it = c.targets.find(ep.id);
        ep.healthy = it == c.targets.end() || it->second->healthy;
      }
      c.source = cs.get();
      c.source_verdicts = c.verdicts;
      c.decorated = std::move(copy);
    }
    cs = c.decorated;
  }
  return out;
}

bool HealthChecker::followTransport(ClusterChecks& c,
                                    const std::shared_ptr<const config::Cluster>& cluster) {
  const bool changed = c.protocol != cluster->protocol || c.tls_settings != cluster->tls;
  c.protocol = cluster->protocol;
  c.tls_settings = cluster->tls;
  if (!changed && c.tls_source == cluster) return false;
  c.tls_source = cluster;
  c.tls_error.clear();
  if (!cluster->usesTls()) {
    c.tls = nullptr;
    return changed;
  }
  auto created = TlsClientContext::forCluster(*cluster);
  if (created) {
    c.tls = std::move(created.value());
    return changed;
  }
  // The same settings as before: the previous context still works (a CA file being rewritten).
  if (changed) c.tls = nullptr;
  c.tls_error = "tls: " + created.error().message;
  spdlog::error("cluster {}: health checks: {}{}", cluster->name, c.tls_error,
                c.tls ? "; the probes keep the current TLS settings" : "; every probe fails");
  return changed;
}

void HealthChecker::arm() {
  armed_ = true;
  timer_.expires_after(kResolution);
  timer_.async_wait([this](boost::system::error_code ec) {
    armed_ = false;
    if (ec || stopped_) return;
    onTimer();
    if (!clusters_.empty()) arm();
  });
}

void HealthChecker::onTimer() {
  const auto now = std::chrono::steady_clock::now();
  for (auto& [name, c] : clusters_) {
    for (auto& [id, t] : c.targets) {
      if (t->probing || now < t->next) continue;
      t->probing = true;
      t->next = now + std::chrono::milliseconds(c.config.interval_ms);
      // The probe belongs to the target: erasing the target cancels it without a callback.
      t->probe->get(t->where, std::chrono::milliseconds(c.config.timeout_ms),
                    [this, cluster = name, id = id](discovery::HealthOutcome outcome) {
                      onOutcome(cluster, id, outcome);
                    });
    }
  }
}

void HealthChecker::onOutcome(const std::string& cluster, const std::string& id,
                              const discovery::HealthOutcome& outcome) {
  auto c = clusters_.find(cluster);
  if (stopped_ || c == clusters_.end()) return;
  auto t = c->second.targets.find(id);
  if (t == c->second.targets.end()) return;
  Target& target = *t->second;
  target.probing = false;
  const auto& config = c->second.config;
  bool changed = false;
  if (outcome.healthy()) {
    target.failures = 0;
    if (++target.successes >= config.healthy_after && !target.healthy) {
      target.healthy = true;
      changed = true;
      spdlog::info("cluster {}: instance {} healthy again (GET {} -> {})", cluster, id,
                   target.where.path, outcome.str());
    }
  } else {
    target.successes = 0;
    if (++target.failures >= config.unhealthy_after && target.healthy) {
      target.healthy = false;
      changed = true;
      spdlog::warn("cluster {}: instance {} unhealthy: GET {} -> {}", cluster, id,
                   target.where.path, outcome.str());
    }
  }
  if (!changed) return;
  ++c->second.verdicts;
  on_change_();
}

}  // namespace switchyard::proxy
