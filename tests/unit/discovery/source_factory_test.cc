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
  auto source = makeDiscoverySource(io, cluster, nullptr);
  ASSERT_NE(source, nullptr);
  EXPECT_EQ(source->describe(), "static");

  cluster.discovery.kind = config::DiscoveryKind::kFile;
  cluster.discovery.file = "/nonexistent/instances.yaml";
  source = makeDiscoverySource(io, cluster, nullptr);
  ASSERT_NE(source, nullptr);
  EXPECT_EQ(source->describe(), "file:/nonexistent/instances.yaml");

  // Without a ZooKeeper session there is no serverset source: the caller reports it.
  cluster.discovery.kind = config::DiscoveryKind::kServerSet;
  cluster.discovery.serverset = "/aurora/web";
  EXPECT_EQ(makeDiscoverySource(io, cluster, nullptr), nullptr);

  // With one (never started: nothing connects), a ServerSetSource on the path.
  ZkSession session(io, {"127.0.0.1:1", std::chrono::milliseconds(2000)});
  source = makeDiscoverySource(io, cluster, &session);
  ASSERT_NE(source, nullptr);
  EXPECT_EQ(source->describe(), "serverset:/aurora/web");
  EXPECT_FALSE(source->ready());
}

}  // namespace
}  // namespace switchyard::discovery
