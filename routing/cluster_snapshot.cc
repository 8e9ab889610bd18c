#include "routing/cluster_snapshot.h"

#include <algorithm>

namespace switchyard::routing {

std::shared_ptr<const ClusterSnapshot> buildClusterSnapshot(
    std::shared_ptr<const config::Cluster> config, uint32_t index,
    const discovery::InstanceSet& instances, uint64_t version) {
  auto s = std::make_shared<ClusterSnapshot>();
  s->config = std::move(config);
  s->index = index;
  s->version = version;
  s->endpoints.reserve(instances.instances.size());
  for (const auto& i : instances.instances) {
    Endpoint e;
    e.id = i.address.str();
    e.address = boost::asio::ip::tcp::endpoint(i.ip, i.address.port);
    e.shard = i.shard;
    e.weight = i.weight;
    s->endpoints.push_back(std::move(e));
  }
  std::sort(s->endpoints.begin(), s->endpoints.end(),
            [](const Endpoint& a, const Endpoint& b) { return a.id < b.id; });
  return s;
}

}  // namespace switchyard::routing
