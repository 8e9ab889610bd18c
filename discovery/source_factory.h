#pragma once
// Builds the discovery source a cluster's configuration asks for. A plain function, no registry:
// main binds it (with its control context) into ClusterManager's SourceFactory.

#include <boost/asio/io_context.hpp>
#include <memory>

#include "config/config.h"
#include "discovery/discovery_source.h"

namespace switchyard::discovery {

// Control thread. A StaticSource for `static`, a FileSource for `file`.
//
// Returns nullptr for `serverset`: ZooKeeper discovery is not built yet (a later issue adds it,
// with a ZooKeeper session to pass in). The caller reports it; ClusterManager logs an error for
// the cluster, which then has no instance and never becomes ready (so /ready stays 503 rather
// than pretending).
std::unique_ptr<DiscoverySource> makeDiscoverySource(boost::asio::io_context& control,
                                                     const config::Cluster& cluster);

}  // namespace switchyard::discovery
