// The document of a shared route split (routing/shared_splits.h): what a gateway writes, it and
// every other gateway read back; what the admin API would refuse is refused when read too.

#include "routing/shared_splits.h"

#include <gtest/gtest.h>

namespace switchyard::routing {
namespace {

config::Config twoClusters() {
  config::Config c;
  for (const char* name : {"web", "web-next"}) {
    config::Cluster cluster;
    cluster.name = name;
    c.clusters.push_back(cluster);
  }
  return c;
}

TEST(SharedSplitsCodec, WhatIsWrittenReadsBack) {
  const std::vector<config::SplitTarget> split = {{"web", 95}, {"web-next", 5}};
  const std::string doc = SharedSplits::encode(split);
  EXPECT_EQ(doc, R"({"split":[{"cluster":"web","weight":95},{"cluster":"web-next","weight":5}]})");
  auto back = SharedSplits::decode(doc, twoClusters());
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back.value(), split);
}

TEST(SharedSplitsCodec, BadDocumentsAreErrorsThatSayWhy) {
  const auto config = twoClusters();
  auto error = [&](const std::string& doc) {
    auto r = SharedSplits::decode(doc, config);
    return r.ok() ? std::string("(accepted)") : r.error().message;
  };
  EXPECT_NE(error("not json").find("expected {\"split\""), std::string::npos);
  EXPECT_NE(error(R"({"split": []})").find("expected"), std::string::npos);
  EXPECT_NE(error(R"({"split": [{"cluster": "nope", "weight": 1}]})").find("no cluster named"),
            std::string::npos);
  EXPECT_NE(error(R"({"split": [{"cluster": "web", "weight": 1.5}]})").find("integer"),
            std::string::npos);
  EXPECT_NE(error(R"({"split": [{"cluster": "web", "weight": -1}]})").find("between"),
            std::string::npos);
  EXPECT_NE(error(R"({"split": [{"cluster": "web", "weight": 0}]})").find("all be 0"),
            std::string::npos);
  EXPECT_NE(error(R"({"split": [{"weight": 1}]})").find("needs a"), std::string::npos);
}

}  // namespace
}  // namespace switchyard::routing
