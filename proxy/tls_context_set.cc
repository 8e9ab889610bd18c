#include "proxy/tls_context_set.h"

namespace switchyard::proxy {

std::shared_ptr<const TlsContextSet> TlsContextSet::build(const config::Config& config,
                                                          const TlsContextSet* previous,
                                                          std::vector<std::string>& errors,
                                                          std::vector<std::string>& warnings) {
  auto set = std::make_shared<TlsContextSet>();
  set->listeners_.resize(config.listeners.size());
  for (size_t i = 0; i < config.listeners.size(); ++i) {
    const auto& l = config.listeners[i];
    if (l.protocol != config::ListenerProtocol::kHttps || !l.tls) continue;
    auto loaded = TlsServerContext::load(*l.tls);
    if (loaded) {
      for (const auto& w : loaded.value()->warnings())
        warnings.push_back("listener " + l.name + ": " + w);
      set->listeners_[i] = std::move(loaded.value());
      continue;
    }
    auto kept = previous ? previous->listener(i) : nullptr;
    errors.push_back(
        "listener " + l.name + ": " + loaded.error().message +
        (kept ? "; it keeps its current certificate (serial " + kept->serial() + ")" : ""));
    set->listeners_[i] = std::move(kept);
  }
  for (const auto& c : config.clusters) {
    if (!c.usesTls()) continue;
    auto created = TlsClientContext::forCluster(c);
    if (created) {
      set->clusters_[c.name] = std::move(created.value());
      continue;
    }
    auto kept = previous ? previous->cluster(c.name) : nullptr;
    errors.push_back("cluster " + c.name + ": tls: " + created.error().message +
                     (kept ? "; it keeps its current TLS settings" : ""));
    if (kept) set->clusters_[c.name] = std::move(kept);
  }
  return set;
}

}  // namespace switchyard::proxy
