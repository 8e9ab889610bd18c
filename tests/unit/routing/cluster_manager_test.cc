#include "routing/cluster_manager.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <map>
#include <optional>

#include "discovery/static_source.h"
#include "routing/hash_ring.h"
#include "routing/maglev_table.h"
#include "tests/unit/discovery/run_until.h"

namespace switchyard::routing {
namespace {

// A source the test drives by hand: emit() is what a discovery change would do.
class FakeSource final : public discovery::DiscoverySource {
 public:
  explicit FakeSource(int* alive) : alive_(alive) { ++*alive_; }
  ~FakeSource() override { --*alive_; }
  void start(UpdateCallback on_update) override { on_update_ = std::move(on_update); }
  void stop() override { on_update_ = nullptr; }
  bool ready() const override { return ready_; }
  std::string describe() const override { return "fake"; }

  void emit(std::vector<std::pair<std::string, uint16_t>> addresses) {
    discovery::InstanceSet set;
    for (auto& [ip, port] : addresses) {
      discovery::Instance instance;
      instance.address = HostPort{ip, port};
      instance.ip = boost::asio::ip::make_address(ip);
      set.instances.push_back(instance);
    }
    set.normalize();
    ready_ = true;
    ASSERT_TRUE(on_update_) << "emit on a stopped source";
    on_update_(std::move(set));
  }

 private:
  int* alive_;
  UpdateCallback on_update_;
  bool ready_ = false;
};

config::Cluster cluster(std::string name, std::string file) {
  config::Cluster c;
  c.name = std::move(name);
  c.discovery.kind = config::DiscoveryKind::kFile;
  c.discovery.file = std::move(file);
  return c;
}

std::shared_ptr<const config::Config> makeConfig(std::vector<config::Cluster> clusters) {
  auto config = std::make_shared<config::Config>();
  config->clusters = std::move(clusters);
  config::Listener listener;
  listener.name = "web";
  config::Route route;
  route.cluster = config->clusters.front().name;
  listener.routes.push_back(route);
  config->listeners.push_back(listener);
  return config;
}

class ClusterManagerTest : public ::testing::Test {
 protected:
  ClusterManager::SourceFactory factory() {
    return [this](const config::Cluster& c) -> std::unique_ptr<discovery::DiscoverySource> {
      ++created_[c.name];
      auto source = std::make_unique<FakeSource>(&alive_);
      sources_[c.name] = source.get();
      return source;
    };
  }
  ClusterManager::PublishCallback publisher() {
    return [this](std::shared_ptr<const RoutingSnapshot> s) { published_.push_back(std::move(s)); };
  }

  boost::asio::io_context io_;
  int alive_ = 0;
  std::map<std::string, int> created_;
  std::map<std::string, FakeSource*> sources_;
  std::vector<std::shared_ptr<const RoutingSnapshot>> published_;
};

TEST_F(ClusterManagerTest, PublishesAtOnceAndOnEveryUpdate) {
  ClusterManager manager(io_, factory(), publisher());
  manager.apply(makeConfig({cluster("a", "a.yaml"), cluster("b", "b.yaml")}));
  ASSERT_EQ(published_.size(), 1u);
  EXPECT_EQ(manager.current(), published_.back());
  ASSERT_EQ(published_[0]->clusters.size(), 2u);
  ASSERT_EQ(published_[0]->routes.size(), 1u);
  EXPECT_TRUE(published_[0]->clusters[0]->endpoints.empty());
  EXPECT_FALSE(manager.ready());

  sources_["b"]->emit({{"127.0.0.1", 9002}, {"127.0.0.1", 9001}});
  ASSERT_EQ(published_.size(), 2u);
  EXPECT_FALSE(manager.ready());  // "a" has not been read yet
  const auto& b = *published_[1]->clusters[1];
  EXPECT_EQ(b.config->name, "b");
  EXPECT_EQ(b.index, 1u);
  ASSERT_EQ(b.endpoints.size(), 2u);
  EXPECT_EQ(b.endpoints[0].id, "127.0.0.1:9001");
  EXPECT_EQ(b.endpoints[0].address.port(), 9001);
  EXPECT_GT(b.version, published_[0]->clusters[1]->version);
  EXPECT_GT(published_[1]->version, published_[0]->version);
  // The other cluster's snapshot is shared, not rebuilt; the route tables too.
  EXPECT_EQ(published_[1]->clusters[0], published_[0]->clusters[0]);
  EXPECT_EQ(published_[1]->routes[0], published_[0]->routes[0]);

  sources_["a"]->emit({});  // an empty first read still counts as read
  EXPECT_TRUE(manager.ready());
  ASSERT_EQ(published_.size(), 3u);

  auto status = manager.status();
  ASSERT_EQ(status.size(), 2u);
  EXPECT_EQ(status[1].name, "b");
  EXPECT_EQ(status[1].source, "fake");
  EXPECT_TRUE(status[1].ready);
  EXPECT_EQ(status[1].instances.instances.size(), 2u);
}

// ring_hash and maglev clusters carry their ring or table, built once here for every worker,
// from the weights operators set; other policies carry none.
TEST_F(ClusterManagerTest, HashedClustersCarryTheirTableBuiltOnceFromTheFinalWeights) {
  auto ring = cluster("ring", "r.yaml");
  ring.load_balancer = config::LoadBalancerKind::kRingHash;
  auto maglev = cluster("maglev", "m.yaml");
  maglev.load_balancer = config::LoadBalancerKind::kMaglev;
  auto plain = cluster("plain", "p.yaml");
  plain.load_balancer = config::LoadBalancerKind::kP2cEwma;
  ClusterManager manager(io_, factory(), publisher());
  manager.apply(makeConfig({ring, maglev, plain}));
  for (const char* name : {"ring", "maglev", "plain"})
    sources_[name]->emit({{"127.0.0.1", 9001}, {"127.0.0.1", 9002}});
  const auto& s = *published_.back();
  ASSERT_TRUE(s.clusters[0]->ring);
  EXPECT_EQ(s.clusters[0]->ring->points(), 2 * 160u);
  EXPECT_EQ(s.clusters[0]->ring->builtFor(), 2u);
  EXPECT_FALSE(s.clusters[0]->maglev);
  ASSERT_TRUE(s.clusters[1]->maglev);
  EXPECT_EQ(s.clusters[1]->maglev->owners(), 2u);
  EXPECT_FALSE(s.clusters[1]->ring);
  EXPECT_FALSE(s.clusters[2]->ring);
  EXPECT_FALSE(s.clusters[2]->maglev);

  // An operator weight is in the ring: 3 units of weight are 480 points.
  ASSERT_TRUE(manager.setClusterOverrides("ring", {{"127.0.0.1:9001", {.weight = 2.0}}}));
  EXPECT_EQ(published_.back()->clusters[0]->ring->points(), 3 * 160u);
  ASSERT_TRUE(manager.setClusterOverrides(
      "ring", {{"127.0.0.1:9001", {.weight = std::nullopt, .drained = true}}}));
  EXPECT_EQ(published_.back()->clusters[0]->ring->points(), 160u);
  EXPECT_EQ(published_.back()->clusters[0]->ring->owners(), 1u);
}

TEST_F(ClusterManagerTest, ReloadKeepsUnchangedSourcesAndTheirSets) {
  ClusterManager manager(io_, factory(), publisher());
  manager.apply(
      makeConfig({cluster("a", "a.yaml"), cluster("b", "b.yaml"), cluster("c", "c.yaml")}));
  sources_["a"]->emit({{"127.0.0.1", 9001}});
  sources_["b"]->emit({{"127.0.0.1", 9002}});
  sources_["c"]->emit({{"127.0.0.1", 9003}});
  FakeSource* a = sources_["a"];
  ASSERT_EQ(alive_, 3);

  // "a" unchanged except its load balancer (not a discovery setting) and moved to index 1;
  // "b" reads another file; "c" is gone; "d" is new.
  auto a2 = cluster("a", "a.yaml");
  a2.load_balancer = config::LoadBalancerKind::kWeightedRoundRobin;
  manager.apply(makeConfig({cluster("d", "d.yaml"), a2, cluster("b", "other.yaml")}));
  EXPECT_EQ(created_["a"], 1);
  EXPECT_EQ(sources_["a"], a);
  EXPECT_EQ(created_["b"], 2);
  EXPECT_EQ(created_["d"], 1);
  EXPECT_EQ(alive_, 3);  // old "b" and "c" destroyed

  const auto& snapshot = *published_.back();
  ASSERT_EQ(snapshot.clusters.size(), 3u);
  EXPECT_EQ(snapshot.clusters[1]->config->name, "a");
  EXPECT_EQ(snapshot.clusters[1]->index, 1u);
  EXPECT_EQ(snapshot.clusters[1]->config->load_balancer,
            config::LoadBalancerKind::kWeightedRoundRobin);
  ASSERT_EQ(snapshot.clusters[1]->endpoints.size(), 1u);  // kept its set
  EXPECT_TRUE(snapshot.clusters[2]->endpoints.empty());   // "b" reads anew
  EXPECT_FALSE(manager.ready());

  // The kept source still reaches the manager, at its new position.
  a->emit({{"127.0.0.1", 9001}, {"127.0.0.1", 9011}});
  EXPECT_EQ(published_.back()->clusters[1]->endpoints.size(), 2u);
  sources_["b"]->emit({});
  sources_["d"]->emit({});
  EXPECT_TRUE(manager.ready());
}

TEST_F(ClusterManagerTest, AClusterWithoutASourceIsNeverReady) {
  int calls = 0;
  ClusterManager manager(
      io_, [&](const config::Cluster&) { return ++calls, nullptr; }, publisher());
  manager.apply(makeConfig({cluster("zk", "x")}));
  EXPECT_EQ(calls, 1);
  EXPECT_FALSE(manager.ready());
  ASSERT_EQ(manager.status().size(), 1u);
  EXPECT_FALSE(manager.status()[0].ready);
  ASSERT_EQ(published_.size(), 1u);
  EXPECT_TRUE(published_[0]->clusters[0]->endpoints.empty());
}

TEST_F(ClusterManagerTest, WorksWithARealStaticSource) {
  ClusterManager manager(
      io_,
      [this](const config::Cluster& c) -> std::unique_ptr<discovery::DiscoverySource> {
        return std::make_unique<discovery::StaticSource>(io_, c.discovery.static_instances, c.name);
      },
      publisher());
  config::Cluster c;
  c.name = "web";
  c.discovery.static_instances = {{HostPort{"localhost", 9001}, 2.0},
                                  {HostPort{"127.0.0.1", 9002}, 1.0}};
  manager.apply(makeConfig({c}));
  ASSERT_TRUE(switchyard::testing::runUntil(io_, [&] { return manager.ready(); }));
  const auto& endpoints = manager.current()->clusters[0]->endpoints;
  ASSERT_EQ(endpoints.size(), 2u);
  EXPECT_EQ(endpoints[0].id, "127.0.0.1:9002");
  EXPECT_EQ(endpoints[1].id, "localhost:9001");
  EXPECT_EQ(endpoints[1].weight, 2.0);
  EXPECT_TRUE(endpoints[1].address.address().is_loopback());
}

}  // namespace
}  // namespace switchyard::routing
