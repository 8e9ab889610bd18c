#include "proxy/admin/operator_change.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace switchyard::proxy {
namespace {

class OperatorChangeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_.clusters.resize(2);
    config_.clusters[0].name = "web";
    config_.clusters[1].name = "api";
    config_.listeners.resize(1);
    config_.listeners[0].name = "in";
    config_.listeners[0].routes.resize(2);
    auto web = std::make_shared<routing::ClusterSnapshot>();
    web->config = std::make_shared<config::Cluster>(config_.clusters[0]);
    for (const char* id : {"10.0.0.1:80", "10.0.0.2:80"}) {
      routing::Endpoint e;
      e.id = id;
      web->endpoints.push_back(e);
    }
    auto api = std::make_shared<routing::ClusterSnapshot>();
    api->config = std::make_shared<config::Cluster>(config_.clusters[1]);
    snapshot_.clusters = {web, api};
  }

  std::variant<OperatorChange, AdminAnswer> parse(std::string_view path, std::string_view body) {
    return parseOperatorChange(path, body, config_, snapshot_);
  }

  // The status of a refused call, and its message.
  std::pair<unsigned, std::string> refused(std::string_view path, std::string_view body) {
    auto r = parse(path, body);
    auto* a = std::get_if<AdminAnswer>(&r);
    if (!a) return {0, "accepted"};
    return {a->status, nlohmann::json::parse(a->body)["error"].get<std::string>()};
  }

  config::Config config_;
  routing::RoutingSnapshot snapshot_;
};

TEST_F(OperatorChangeTest, RecognisesTheMutatingPaths) {
  EXPECT_TRUE(isOperatorPath("/clusters/web/instances/10.0.0.1:80/weight"));
  EXPECT_TRUE(isOperatorPath("/clusters/web/instances/10.0.0.1:80/drain"));
  EXPECT_TRUE(isOperatorPath("/clusters/web/instances/10.0.0.1:80/undrain"));
  EXPECT_TRUE(isOperatorPath("/clusters/web/weights"));
  EXPECT_TRUE(isOperatorPath("/routes/in/0/split"));
  EXPECT_FALSE(isOperatorPath("/clusters"));
  EXPECT_FALSE(isOperatorPath("/clusters/web/instances/x/other"));
  EXPECT_FALSE(isOperatorPath("/"));
}

TEST_F(OperatorChangeTest, ParsesEveryCall) {
  auto w = std::get<OperatorChange>(
      parse("/clusters/web/instances/10.0.0.1:80/weight", R"({"weight": 2.5})"));
  EXPECT_EQ(w.kind, OperatorChange::Kind::kWeights);
  EXPECT_EQ(w.weights, (std::map<std::string, double>{{"10.0.0.1:80", 2.5}}));
  auto d = std::get<OperatorChange>(parse("/clusters/web/instances/10.0.0.2:80/drain", ""));
  EXPECT_EQ(d.kind, OperatorChange::Kind::kDrain);
  EXPECT_EQ(d.instance, "10.0.0.2:80");
  auto many = std::get<OperatorChange>(
      parse("/clusters/web/weights", R"({"10.0.0.1:80": 0, "10.0.0.2:80": 100})"));
  EXPECT_EQ(many.weights.size(), 2u);
  auto s = std::get<OperatorChange>(
      parse("/routes/in/1/split",
            R"({"split":[{"cluster":"web","weight":9},{"cluster":"api","weight":1}]})"));
  EXPECT_EQ(s.kind, OperatorChange::Kind::kSplit);
  EXPECT_EQ(s.route, 1u);
  EXPECT_EQ(s.split, (std::vector<config::SplitTarget>{{"web", 9}, {"api", 1}}));
}

TEST_F(OperatorChangeTest, RefusesBadInputWith400) {
  const std::string path = "/clusters/web/instances/10.0.0.1:80/weight";
  EXPECT_EQ(refused(path, "{").first, 400u);
  EXPECT_EQ(refused(path, "[1]").first, 400u);
  EXPECT_EQ(refused(path, "{}").first, 400u);
  EXPECT_EQ(refused(path, R"({"weight": "2"})"),
            (std::pair<unsigned, std::string>{400, "weight must be a number, got string"}));
  EXPECT_EQ(refused(path, R"({"weight": 100.5})").first, 400u);
  EXPECT_EQ(refused(path, R"({"weight": -1})").first, 400u);
  EXPECT_EQ(refused("/clusters/web/weights", R"({"10.0.0.1:80": 1, "10.0.0.2:80": 101})").first,
            400u);
  EXPECT_EQ(refused("/clusters/web/weights", "{}").first, 400u);
  EXPECT_EQ(refused("/routes/in/0/split", R"({"split": []})").first, 400u);
  EXPECT_EQ(refused("/routes/in/0/split", R"({"split":[{"cluster":"web","weight":0}]})").first,
            400u);
  EXPECT_EQ(refused("/routes/in/0/split", R"({"split":[{"cluster":"web","weight":1.5}]})").first,
            400u);
}

TEST_F(OperatorChangeTest, RefusesUnknownNamesWith404) {
  EXPECT_EQ(refused("/clusters/nope/instances/10.0.0.1:80/weight", R"({"weight":1})"),
            (std::pair<unsigned, std::string>{404, "no cluster named \"nope\""}));
  EXPECT_EQ(
      refused("/clusters/web/instances/10.0.0.9:80/weight", R"({"weight":1})"),
      (std::pair<unsigned, std::string>{404, "cluster \"web\" has no instance \"10.0.0.9:80\""}));
  EXPECT_EQ(refused("/clusters/web/instances/10.0.0.9:80/drain", "").first, 404u);
  // All or nothing: one unknown instance refuses the whole change.
  EXPECT_EQ(refused("/clusters/web/weights", R"({"10.0.0.1:80": 1, "10.0.0.9:80": 1})").first,
            404u);
  EXPECT_EQ(refused("/routes/out/0/split", R"({"split":[{"cluster":"web","weight":1}]})").first,
            404u);
  EXPECT_EQ(refused("/routes/in/2/split", R"({"split":[{"cluster":"web","weight":1}]})").first,
            404u);
  EXPECT_EQ(refused("/routes/in/x/split", R"({"split":[{"cluster":"web","weight":1}]})").first,
            404u);
  EXPECT_EQ(refused("/routes/in/0/split", R"({"split":[{"cluster":"nope","weight":1}]})").first,
            404u);
}

TEST_F(OperatorChangeTest, DrainKeepsTheWeightForUndrain) {
  auto set = std::get<OperatorChange>(
      parse("/clusters/web/instances/10.0.0.1:80/weight", R"({"weight": 3})"));
  auto drain = std::get<OperatorChange>(parse("/clusters/web/instances/10.0.0.1:80/drain", ""));
  auto undrain = std::get<OperatorChange>(parse("/clusters/web/instances/10.0.0.1:80/undrain", ""));
  auto o = applyChange({}, set);
  o = applyChange(o, drain);
  EXPECT_EQ(o.at("10.0.0.1:80"), (routing::InstanceOverride{3.0, true}));
  o = applyChange(o, undrain);
  EXPECT_EQ(o.at("10.0.0.1:80"), (routing::InstanceOverride{3.0, false}));
  // Undrain of an instance drained without a weight leaves no override at all.
  auto d2 = std::get<OperatorChange>(parse("/clusters/web/instances/10.0.0.2:80/drain", ""));
  auto u2 = std::get<OperatorChange>(parse("/clusters/web/instances/10.0.0.2:80/undrain", ""));
  o = applyChange(applyChange(o, d2), u2);
  EXPECT_FALSE(o.contains("10.0.0.2:80"));
}

}  // namespace
}  // namespace switchyard::proxy
