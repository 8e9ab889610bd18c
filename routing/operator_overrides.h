#pragma once
// Operator overrides (docs/admin-api.md, docs/discovery-formats.md "Operator weights"): weights
// and drains set through the admin API, per cluster and instance, and route splits, per listener
// and route. ClusterManager applies them whenever it builds a ClusterSnapshot or a RouteTable, so
// they survive every discovery update.
//
// A cluster's overrides travel through ZooKeeper as one node in Finagle's weight-vector format,
// so that Finagle clients reading it follow them too:
//   {"vector": [{"select": "inet=HOST:PORT", "weight": W}, ...]}
// An operator drain is written as weight 0 with `"drained": true` and, when a weight was set
// before, `"undrained_weight": W` (keys Finagle ignores), so that undrain on any gateway brings
// that weight back. Only inet selectors are written or honoured here.
//
// Plain values; control thread only.

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "config/config.h"
#include "routing/cluster_snapshot.h"

namespace switchyard::routing {

// The operator's word on one instance: the weight multiplies discovery's (1.0 = as discovered).
struct InstanceOverride {
  std::optional<double> weight;
  bool drained = false;

  friend bool operator==(const InstanceOverride&, const InstanceOverride&) = default;
};

// By instance id, the announced "host:port".
using ClusterOverrides = std::map<std::string, InstanceOverride>;

// Operator weights are 0..kMaxOperatorWeight (1.0 = normal).
inline constexpr double kMaxOperatorWeight = 100.0;

// The vector document of a cluster's overrides (entries sorted by instance; stable).
std::string encodeOverrides(const ClusterOverrides& overrides);
// Reads a vector document written by encodeOverrides (or by hand, or by Finagle tooling: any
// inet selector counts, other selectors are ignored). A malformed document is an error.
Result<ClusterOverrides> decodeOverrides(std::string_view data);

class OperatorOverrides {
 public:
  const ClusterOverrides& cluster(const std::string& name) const;
  // Replaces a cluster's overrides; false when nothing changed.
  bool setCluster(const std::string& name, ClusterOverrides overrides);

  // Scales the endpoints' weights and marks drained ones (weight 0, drained = true).
  void applyTo(const std::string& cluster, std::vector<Endpoint>& endpoints) const;

  // Route splits by listener name and route index; cleared by clearSplits() (a reload).
  const std::vector<config::SplitTarget>* split(const std::string& listener, size_t route) const;
  void setSplit(const std::string& listener, size_t route, std::vector<config::SplitTarget> split);
  // Back to the configuration's split for one route; false when it had no override.
  bool clearSplit(const std::string& listener, size_t route) {
    return splits_.erase({listener, route}) > 0;
  }
  void clearSplits() { splits_.clear(); }
  bool hasSplits() const { return !splits_.empty(); }
  // `config` with every split override applied to its routes.
  config::Config withSplits(const config::Config& config) const;

 private:
  ClusterOverrides none_;  // what cluster() returns for a cluster without overrides
  std::map<std::string, ClusterOverrides> clusters_;
  std::map<std::pair<std::string, size_t>, std::vector<config::SplitTarget>> splits_;
};

}  // namespace switchyard::routing
