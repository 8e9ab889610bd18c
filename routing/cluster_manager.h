#pragma once
// Control thread: owns one discovery source per cluster, turns their updates into cluster
// snapshots and publishes a whole RoutingSnapshot after each change.

#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "discovery/discovery_source.h"
#include "routing/operator_overrides.h"
#include "routing/routing_snapshot.h"

namespace switchyard::routing {

class ClusterManager {
 public:
  using SourceFactory =
      std::function<std::unique_ptr<discovery::DiscoverySource>(const config::Cluster&)>;
  using PublishCallback = std::function<void(std::shared_ptr<const RoutingSnapshot>)>;

  // Control thread only, like every method. `publish` is called on the control thread.
  ClusterManager(boost::asio::io_context& control, SourceFactory factory, PublishCallback publish);
  ~ClusterManager();

  // Starts (or, on reload, replaces) the configuration. Sources of clusters whose name and
  // discovery settings are unchanged are kept with their current sets; the others are started
  // anew. Publishes a snapshot at once (clusters not yet read have no endpoints).
  void apply(std::shared_ptr<const config::Config> config);
  void stop();

  // True once every cluster's source has been read once.
  bool ready() const;
  std::shared_ptr<const RoutingSnapshot> current() const { return current_; }

  struct ClusterStatus {
    std::string name;
    std::string source;  // DiscoverySource::describe()
    bool ready = false;
    discovery::InstanceSet instances;  // the last set the source gave
    discovery::SourceStatus source_status;
  };
  std::vector<ClusterStatus> status() const;

  // Operator overrides (routing/operator_overrides.h), applied to every snapshot built from now
  // on. setClusterOverrides replaces a cluster's overrides and publishes once (several weights
  // change atomically); false when nothing changed. setSplit replaces a route's split until the
  // next apply() (a reload goes back to the file's splits).
  const OperatorOverrides& overrides() const { return overrides_; }
  bool setClusterOverrides(const std::string& cluster, ClusterOverrides overrides);
  void setSplit(const std::string& listener, size_t route, std::vector<config::SplitTarget> split);
  // Back to the file's split for one route (publishes only when it had an override).
  void clearSplit(const std::string& listener, size_t route);

 private:
  struct ClusterState;
  void onUpdate(ClusterState* state, discovery::InstanceSet set);
  void publish();
  std::shared_ptr<const ClusterSnapshot> buildSnapshot(const ClusterState& state);

  boost::asio::io_context& control_;
  SourceFactory factory_;
  PublishCallback publish_;
  std::shared_ptr<const config::Config> config_;
  std::vector<std::unique_ptr<ClusterState>> clusters_;
  std::shared_ptr<const RoutingSnapshot> current_;
  uint64_t version_ = 0;
  OperatorOverrides overrides_;
  bool routes_changed_ = false;  // a split changed: rebuild the route tables on publish
};

}  // namespace switchyard::routing
