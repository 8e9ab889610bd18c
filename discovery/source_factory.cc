#include "discovery/source_factory.h"

#include "discovery/file_source.h"
#include "discovery/serverset_source.h"
#include "discovery/static_source.h"

namespace switchyard::discovery {

std::unique_ptr<DiscoverySource> makeDiscoverySource(boost::asio::io_context& control,
                                                     const config::Cluster& cluster,
                                                     ZkSession* zookeeper) {
  const config::Discovery& discovery = cluster.discovery;
  switch (discovery.kind) {
    case config::DiscoveryKind::kStatic:
      return std::make_unique<StaticSource>(control, discovery.static_instances, cluster.name);
    case config::DiscoveryKind::kFile:
      return std::make_unique<FileSource>(control, discovery.file, std::chrono::milliseconds(500),
                                          cluster.name);
    case config::DiscoveryKind::kServerSet:
      if (!zookeeper) return nullptr;
      return std::make_unique<ServerSetSource>(control, *zookeeper, discovery, cluster.name);
  }
  return nullptr;
}

}  // namespace switchyard::discovery
