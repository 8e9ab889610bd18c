#pragma once
// Builds the discovery source a cluster's configuration asks for. A plain function, no registry:
// main binds it (with its control context) into ClusterManager's SourceFactory.

#include <boost/asio/io_context.hpp>
#include <memory>

#include "config/config.h"
#include "discovery/discovery_source.h"
#include "discovery/zk_session.h"

namespace switchyard::discovery {

// Control thread. A StaticSource for `static`, a FileSource for `file`, a ServerSetSource on
// `zookeeper` for `serverset`.
//
// Returns nullptr for `serverset` without a session (the configuration check makes that
// impossible from a file); ClusterManager then logs an error for the cluster, which has no
// instance and never becomes ready (so /ready stays 503 rather than pretending).
std::unique_ptr<DiscoverySource> makeDiscoverySource(boost::asio::io_context& control,
                                                     const config::Cluster& cluster,
                                                     ZkSession* zookeeper);

}  // namespace switchyard::discovery
