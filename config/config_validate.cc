// Checks that need the whole file: names are unique, every cluster a listener names exists, and
// what needs ZooKeeper has it. Runs after parsing; places come from the remembered key paths.

#include <map>

#include "config/edit_distance.h"
#include "config/section_readers.h"

namespace switchyard::config::detail {

namespace {

std::string at(const std::string& base, size_t i) { return base + "[" + std::to_string(i) + "]"; }

class ClusterReferences {
 public:
  ClusterReferences(const Config& config, Diagnostics& diag) : diag_(diag) {
    for (const auto& c : config.clusters)
      if (!c.name.empty()) names_.push_back(c.name);
    for (const auto& n : names_) views_.push_back(n);
  }

  // An empty name was reported where it was read: no second error for it here.
  void check(const std::string& name, const std::string& path) {
    if (name.empty()) return;
    for (const auto& n : names_)
      if (n == name) return;
    std::string message = "no cluster named \"" + name + "\"";
    if (auto hint = closestMatch(name, views_)) message += " (did you mean \"" + *hint + "\"?)";
    diag_.errorAt(path, std::move(message));
  }

 private:
  Diagnostics& diag_;
  std::vector<std::string> names_;
  std::vector<std::string_view> views_;
};

// Reports the second and later uses of a name; `what` is "listener" or "cluster".
void checkUnique(std::map<std::string, std::string>& seen, const std::string& name,
                 const std::string& path, const std::string& what, Diagnostics& diag) {
  if (name.empty()) return;
  auto [it, inserted] = seen.emplace(name, path);
  if (!inserted)
    diag.errorAt(path, "duplicate " + what + " name \"" + name + "\" (first at line " +
                           std::to_string(diag.markOf(it->second).line + 1) + ")");
}

}  // namespace

void validateConfig(const Config& config, Diagnostics& diag) {
  std::map<std::string, std::string> listener_names, cluster_names;
  std::map<HostPort, std::string> addresses;
  ClusterReferences references(config, diag);

  for (size_t i = 0; i < config.listeners.size(); ++i) {
    const Listener& l = config.listeners[i];
    const std::string path = at("listeners", i);
    checkUnique(listener_names, l.name, path + ".name", "listener", diag);
    if (l.address.port != 0) {
      auto [it, inserted] = addresses.emplace(l.address, l.name);
      if (!inserted)
        diag.errorAt(path + ".address", "address " + l.address.str() +
                                            " is already used by listener \"" + it->second + "\"");
    }
    references.check(l.cluster, path + ".cluster");
    for (size_t r = 0; r < l.routes.size(); ++r) {
      const Route& route = l.routes[r];
      const std::string route_path = at(path + ".routes", r);
      references.check(route.cluster, route_path + ".cluster");
      for (size_t s = 0; s < route.split.size(); ++s)
        references.check(route.split[s].cluster, at(route_path + ".split", s) + ".cluster");
    }
  }

  for (size_t i = 0; i < config.clusters.size(); ++i) {
    const Cluster& c = config.clusters[i];
    const std::string path = at("clusters", i);
    checkUnique(cluster_names, c.name, path + ".name", "cluster", diag);
    if (c.discovery.kind == DiscoveryKind::kServerSet && !c.discovery.serverset.empty() &&
        !config.zookeeper)
      diag.errorAt(path + ".discovery.serverset",
                   "serverset discovery needs a top-level zookeeper section (servers: HOSTS)");
  }

  if (config.weights && !config.zookeeper)
    diag.errorAt("weights",
                 "weights are shared through ZooKeeper: add a top-level zookeeper section");
}

}  // namespace switchyard::config::detail
