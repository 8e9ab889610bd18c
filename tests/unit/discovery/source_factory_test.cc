#include "discovery/source_factory.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

namespace switchyard::discovery {
namespace {

TEST(SourceFactoryTest, BuildsTheConfiguredKind) {
  boost::asio::io_context io;
  config::Cluster cluster;
  cluster.name = "web";
  cluster.discovery.kind = config::DiscoveryKind::kStatic;
  cluster.discovery.static_instances = {{HostPort{"127.0.0.1", 1}, 1.0}};
  auto source = makeDiscoverySource(io, cluster);
  ASSERT_NE(source, nullptr);
  EXPECT_EQ(source->describe(), "static");

  cluster.discovery.kind = config::DiscoveryKind::kFile;
  cluster.discovery.file = "/nonexistent/instances.yaml";
  source = makeDiscoverySource(io, cluster);
  ASSERT_NE(source, nullptr);
  EXPECT_EQ(source->describe(), "file:/nonexistent/instances.yaml");

  // Not built yet: the caller reports it (see source_factory.h).
  cluster.discovery.kind = config::DiscoveryKind::kServerSet;
  cluster.discovery.serverset = "/aurora/web";
  EXPECT_EQ(makeDiscoverySource(io, cluster), nullptr);
}

}  // namespace
}  // namespace switchyard::discovery
