#include "routing/operator_overrides.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "discovery/static_source.h"
#include "routing/cluster_manager.h"
#include "tests/unit/discovery/run_until.h"

namespace switchyard::routing {
namespace {

Endpoint endpoint(const std::string& id, double weight = 1.0) {
  Endpoint e;
  e.id = id;
  e.weight = weight;
  return e;
}

TEST(OperatorOverridesTest, EncodesFinagleVectorsAndReadsThemBack) {
  ClusterOverrides overrides;
  overrides["10.0.0.1:80"].weight = 3.0;
  overrides["10.0.0.2:80"].drained = true;
  overrides["10.0.0.3:80"] = {2.5, true};
  overrides["10.0.0.4:80"] = {};  // nothing to say: not written
  const std::string text = encodeOverrides(overrides);
  auto doc = nlohmann::json::parse(text);
  ASSERT_EQ(doc["vector"].size(), 3u);
  EXPECT_EQ(doc["vector"][0]["select"], "inet=10.0.0.1:80");
  EXPECT_EQ(doc["vector"][0]["weight"], 3.0);
  EXPECT_EQ(doc["vector"][1]["weight"], 0.0);  // Finagle reads a drain as weight 0
  EXPECT_EQ(doc["vector"][2]["undrained_weight"], 2.5);

  auto back = decodeOverrides(text);
  ASSERT_TRUE(back) << back.error().message;
  overrides.erase("10.0.0.4:80");
  EXPECT_EQ(back.value(), overrides);
}

TEST(OperatorOverridesTest, ReadsVectorsWrittenByOthers) {
  // Finagle tooling: several selectors, member= and shard= ignored here (discovery honours them).
  auto decoded = decodeOverrides(
      R"({"vector":[{"select":"inet=h:1","weight":2},{"select":"member=member_1","weight":0},)"
      R"({"select":"inet=h:1","weight":1.5,"priority":1}]})");
  ASSERT_TRUE(decoded) << decoded.error().message;
  ASSERT_EQ(decoded.value().size(), 1u);
  EXPECT_DOUBLE_EQ(*decoded.value().at("h:1").weight, 3.0);  // multiplied
  EXPECT_TRUE(decodeOverrides("").value().empty());          // an empty node: no override
}

TEST(OperatorOverridesTest, RejectsMalformedDocuments) {
  for (const char* bad : {"{", "[]", R"({"vector": 1})", R"({"vector":[{"weight":1}]})",
                          R"({"vector":[{"select":"inet=h:1","weight":-1}]})",
                          R"({"vector":[{"select":"inet=h:1","weight":"2"}]})"})
    EXPECT_FALSE(decodeOverrides(bad)) << bad;
}

TEST(OperatorOverridesTest, ScalesWeightsAndDrains) {
  OperatorOverrides o;
  EXPECT_TRUE(o.setCluster("web", {{"a:1", {2.0, false}}, {"b:1", {4.0, true}}}));
  EXPECT_FALSE(o.setCluster("web", {{"a:1", {2.0, false}}, {"b:1", {4.0, true}}}));
  std::vector<Endpoint> endpoints = {endpoint("a:1", 1.5), endpoint("b:1"), endpoint("c:1")};
  o.applyTo("web", endpoints);
  EXPECT_DOUBLE_EQ(endpoints[0].weight, 3.0);  // discovery's times the operator's
  EXPECT_FALSE(endpoints[0].drained);
  EXPECT_EQ(endpoints[1].weight, 0.0);
  EXPECT_TRUE(endpoints[1].drained);
  EXPECT_EQ(endpoints[2].weight, 1.0);
  o.applyTo("other", endpoints);  // another cluster's overrides do not leak
  EXPECT_DOUBLE_EQ(endpoints[0].weight, 3.0);
  EXPECT_TRUE(o.setCluster("web", {}));
  EXPECT_TRUE(o.cluster("web").empty());
}

TEST(OperatorOverridesTest, SplitsReplaceTheRoutesOfTheFile) {
  config::Config c;
  c.listeners.resize(1);
  c.listeners[0].name = "web";
  c.listeners[0].routes.resize(2);
  c.listeners[0].routes[0].cluster = "a";
  c.listeners[0].routes[1].cluster = "b";
  OperatorOverrides o;
  o.setSplit("web", 1, {{"a", 1}, {"b", 9}});
  auto applied = o.withSplits(c);
  EXPECT_EQ(applied.listeners[0].routes[0].cluster, "a");
  EXPECT_TRUE(applied.listeners[0].routes[1].cluster.empty());
  EXPECT_EQ(applied.listeners[0].routes[1].split.size(), 2u);
  o.clearSplits();
  EXPECT_FALSE(o.hasSplits());
}

// ClusterManager applies the overrides to every snapshot: after an operator change (one
// publication) and after later discovery updates.
TEST(OperatorOverridesTest, ClusterManagerAppliesThemToEverySnapshot) {
  boost::asio::io_context io;
  auto config = std::make_shared<config::Config>();
  config::Cluster web;
  web.name = "web";
  web.discovery.static_instances = {{{"127.0.0.1", 9001}, 1.0}, {{"127.0.0.1", 9002}, 2.0}};
  config->clusters.push_back(web);
  config::Listener l;
  l.name = "in";
  l.routes.resize(1);
  l.routes[0].cluster = "web";
  config->listeners.push_back(l);
  std::vector<std::shared_ptr<const RoutingSnapshot>> published;
  ClusterManager manager(
      io,
      [&](const config::Cluster& c) {
        return std::make_unique<discovery::StaticSource>(io, c.discovery.static_instances, c.name);
      },
      [&](std::shared_ptr<const RoutingSnapshot> s) { published.push_back(std::move(s)); });
  manager.apply(config);
  ASSERT_TRUE(testing::runUntil(io, [&] { return manager.ready(); }));
  const size_t before = published.size();
  ASSERT_TRUE(manager.setClusterOverrides(
      "web", {{"127.0.0.1:9001", {0.5, false}}, {"127.0.0.1:9002", {std::nullopt, true}}}));
  ASSERT_EQ(published.size(), before + 1);  // two weights, one snapshot
  const auto& eps = published.back()->clusters[0]->endpoints;
  ASSERT_EQ(eps.size(), 2u);
  EXPECT_DOUBLE_EQ(eps[0].weight, 0.5);
  EXPECT_EQ(eps[1].weight, 0.0);
  EXPECT_TRUE(eps[1].drained);
  EXPECT_FALSE(manager.setClusterOverrides(
      "web", {{"127.0.0.1:9001", {0.5, false}}, {"127.0.0.1:9002", {std::nullopt, true}}}));
  EXPECT_EQ(published.size(), before + 1);  // no change, no publication

  // A reload (same discovery) keeps the overrides; its splits go back to the file's.
  manager.setSplit("in", 0, {{"web", 1}});
  manager.apply(std::make_shared<config::Config>(*config));
  EXPECT_FALSE(manager.overrides().hasSplits());
  EXPECT_DOUBLE_EQ(manager.current()->clusters[0]->endpoints[0].weight, 0.5);
  EXPECT_TRUE(manager.current()->clusters[0]->endpoints[1].drained);
}

}  // namespace
}  // namespace switchyard::routing
