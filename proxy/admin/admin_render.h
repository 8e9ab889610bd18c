#pragma once
// Renders the admin API's documents from the gateway's state: Prometheus text, the /clusters
// JSON and the live page. Pure functions, no I/O.

#include <string>
#include <vector>

#include "config/config.h"
#include "proxy/stats.h"
#include "routing/cluster_manager.h"

namespace switchyard::proxy {

struct ZooKeeperView {
  std::string servers;
  std::string state;       // ZkSession::toString(): connecting, connected, suspended, expired
  bool connected = false;
  std::string session_id;  // "0x..." or empty
  uint64_t sessions = 0;   // sessions established (more than 1: expiries happened)
  uint64_t expirations = 0;
  uint64_t disconnections = 0;
};

struct AdminView {
  const config::Config* config = nullptr;
  bool ready = false;
  const std::vector<routing::ClusterManager::ClusterStatus>* clusters = nullptr;
  const routing::RoutingSnapshot* snapshot = nullptr;
  const StatsReport* stats = nullptr;
  double uptime_seconds = 0;
  const ZooKeeperView* zookeeper = nullptr;  // null: no zookeeper section
};

std::string renderPrometheus(const AdminView& v);
std::string renderClustersJson(const AdminView& v);
std::string renderLivePage(const AdminView& v);

}  // namespace switchyard::proxy
