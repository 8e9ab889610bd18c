#pragma once
// What a worker sees of a cluster: an immutable list of routable endpoints, built by the control
// thread and shared read-only with every worker (std::shared_ptr<const ClusterSnapshot>).

#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "discovery/instance_set.h"

namespace switchyard::routing {

struct Endpoint {
  std::string id;                          // announced "host:port": the instance's identity
  boost::asio::ip::tcp::endpoint address;  // where to connect
  int32_t shard = -1;
  double weight = 1.0;   // effective weight; 0 = gets no new traffic
  bool drained = false;  // drained by an operator (weight is then 0)
  // Active health checks' verdict (control thread). An unhealthy endpoint keeps its weight here;
  // each worker folds it into weight_factor (0 unless the cluster is below its panic threshold).
  bool healthy = true;
  // A worker's own scaling of the weight (proxy/cluster_runtime): 0 while ejected by outlier
  // detection or unhealthy, a ramp from near 0 to 1 over slow_start_ms for a new instance.
  // Always 1 in the snapshots the control thread publishes.
  double weight_factor = 1.0;
};

class HashRing;     // routing/hash_ring.h
class MaglevTable;  // routing/maglev_table.h

struct ClusterSnapshot {
  std::shared_ptr<const config::Cluster> config;
  uint32_t index = 0;               // position of the cluster in the configuration
  std::vector<Endpoint> endpoints;  // sorted by id
  uint64_t version = 0;             // increases with every publication of this cluster
  // For a ring_hash or maglev cluster: its ring or table, built from `endpoints` by the control
  // thread (ClusterManager) and shared read-only by every worker's balancer; null otherwise. A
  // copy that changes anything but `healthy` or `weight_factor` must drop them.
  std::shared_ptr<const HashRing> ring;
  std::shared_ptr<const MaglevTable> maglev;
};

// Control thread: turns a discovery result into a snapshot.
std::shared_ptr<const ClusterSnapshot> buildClusterSnapshot(
    std::shared_ptr<const config::Cluster> config, uint32_t index,
    const discovery::InstanceSet& instances, uint64_t version);

}  // namespace switchyard::routing
