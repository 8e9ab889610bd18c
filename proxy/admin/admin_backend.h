#pragma once
// What the admin API needs from the running gateway. Implemented by Server; every method is
// called on the control thread.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "proxy/admin/admin_render.h"
#include "proxy/admin/operator_change.h"
#include "proxy/stats.h"
#include "routing/cluster_manager.h"

namespace switchyard::proxy {

class AdminBackend {
 public:
  virtual ~AdminBackend() = default;
  virtual std::shared_ptr<const config::Config> config() const = 0;
  virtual bool ready() const = 0;
  virtual std::vector<routing::ClusterManager::ClusterStatus> clusterStatus() const = 0;
  virtual std::shared_ptr<const routing::RoutingSnapshot> snapshot() const = 0;
  // Asks every worker for its figures and calls `done` on the control thread with their sum.
  virtual void collectStats(std::function<void(StatsReport)> done) = 0;
  // The ZooKeeper session's state; nullopt when the gateway has none.
  virtual std::optional<ZooKeeperView> zookeeper() const { return std::nullopt; }
  // Applies a checked operator change (weights written to ZooKeeper first when shared) and calls
  // `done` on the control thread with the answer: 200, or 503 when ZooKeeper refused the write.
  virtual void operatorChange(const OperatorChange& change,
                              std::function<void(AdminAnswer)> done) = 0;
};

}  // namespace switchyard::proxy
