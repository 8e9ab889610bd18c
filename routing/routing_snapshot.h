#pragma once
// Everything a worker needs to route, as one immutable value: the configuration, each
// listener's route table and each cluster's snapshot. The control thread publishes a new one on
// every change; a worker swaps its pointer between requests.

#include <cstdint>
#include <memory>
#include <vector>

#include "config/config.h"
#include "routing/cluster_snapshot.h"
#include "routing/route_table.h"

namespace switchyard::routing {

struct RoutingSnapshot {
  std::shared_ptr<const config::Config> config;
  std::vector<std::shared_ptr<const RouteTable>> routes;          // by listener index
  std::vector<std::shared_ptr<const ClusterSnapshot>> clusters;   // by cluster index
  uint64_t version = 0;
};

}  // namespace switchyard::routing
