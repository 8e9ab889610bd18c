#pragma once
// Renders the admin API's documents from the gateway's state: Prometheus text, the /clusters
// JSON and the live page. Pure functions, no I/O.

#include <string>
#include <vector>

#include "config/config.h"
#include "proxy/stats.h"
#include "routing/cluster_manager.h"

namespace switchyard::proxy {

struct AdminView {
  const config::Config* config = nullptr;
  bool ready = false;
  const std::vector<routing::ClusterManager::ClusterStatus>* clusters = nullptr;
  const routing::RoutingSnapshot* snapshot = nullptr;
  const StatsReport* stats = nullptr;
  double uptime_seconds = 0;
};

std::string renderPrometheus(const AdminView& v);
std::string renderClustersJson(const AdminView& v);
std::string renderLivePage(const AdminView& v);

}  // namespace switchyard::proxy
