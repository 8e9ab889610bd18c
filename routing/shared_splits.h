#pragma once
// Route splits shared through ZooKeeper, as operator weights are (discovery/weights_source.h):
// with `weights.zookeeper_path: BASE` (a path, not `serverset`), each route of each listener has
// one persistent node
//
//   BASE/_routes/LISTENER/INDEX     {"split": [{"cluster": "web", "weight": 95}, ...]}
//
// holding what POST /routes/LISTENER/INDEX/split takes as its body. A split set on any gateway is
// written there (and applied by that gateway once ZooKeeper has it); every gateway watching
// applies it; a node deleted brings back the configuration file's split. `_routes` cannot be
// confused with a cluster's weights node (BASE/CLUSTER): that one is a leaf read for its data,
// this one's data is never read. A node naming a cluster this gateway does not know, or otherwise
// malformed, is logged and ignored (the last split stays). A reload (new route indexes) applies
// the shared splits again to the new routes.
//
// Control thread only.

#include <boost/asio/io_context.hpp>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"
#include "config/config.h"
#include "discovery/weights_source.h"
#include "discovery/zk_session.h"
#include "routing/cluster_manager.h"

namespace switchyard::routing {

class SharedSplits {
 public:
  // `session` and `clusters` outlive this object. `base` is weights.zookeeper_path.
  SharedSplits(boost::asio::io_context& control, discovery::ZkSession& session,
               ClusterManager& clusters, std::string base);

  // Watches the node of every route of `config` from now on (start, and after each reload).
  void watch(std::shared_ptr<const config::Config> config);
  void stop();

  // The route's node.
  std::string pathOf(const std::string& listener, size_t route) const;
  // Writes the route's split to its node; once ZooKeeper has it, applies it here and calls
  // `done(ZOK)`; else `done` gets ZooKeeper's error and nothing changed.
  void write(const std::string& listener, size_t route, std::vector<config::SplitTarget> split,
             std::function<void(int rc)> done);

  // The node's document, and back: the clusters must be known to `config`, weights integers in
  // 0..1,000,000, not all 0 (the admin API's rules).
  static std::string encode(const std::vector<config::SplitTarget>& split);
  static Result<std::vector<config::SplitTarget>> decode(std::string_view data,
                                                         const config::Config& config);

 private:
  using Key = std::pair<std::string, size_t>;  // listener, route index
  static std::string keyText(const Key& key);  // "LISTENER/INDEX": the source's name of a node
  void onNode(const std::string& key_text, const std::optional<std::string>& data);

  ClusterManager& clusters_;
  std::string base_;
  std::shared_ptr<const config::Config> config_;
  std::map<std::string, Key> keys_;                          // by keyText
  std::map<Key, std::vector<config::SplitTarget>> applied_;  // what the nodes hold
  discovery::WeightsSource source_;  // last: its callbacks use the members above
};

}  // namespace switchyard::routing
