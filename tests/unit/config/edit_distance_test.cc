#include "config/edit_distance.h"

#include <gtest/gtest.h>

namespace switchyard::config {
namespace {

TEST(EditDistanceTest, CountsInsertionsDeletionsAndSubstitutions) {
  EXPECT_EQ(editDistance("", ""), 0u);
  EXPECT_EQ(editDistance("abc", ""), 3u);
  EXPECT_EQ(editDistance("", "abc"), 3u);
  EXPECT_EQ(editDistance("kitten", "sitting"), 3u);
  EXPECT_EQ(editDistance("conect", "connect"), 1u);
  EXPECT_EQ(editDistance("name", "name"), 0u);
  EXPECT_EQ(editDistance("flaw", "lawn"), 2u);
}

const std::vector<std::string_view> kKeys = {
    "name", "discovery", "connect_timeout_ms", "idle_timeout_ms", "load_balancer", "hash_on"};

TEST(EditDistanceTest, SuggestsTheClosestPlausibleKey) {
  EXPECT_EQ(closestMatch("nme", kKeys), "name");
  EXPECT_EQ(closestMatch("discovry", kKeys), "discovery");
  EXPECT_EQ(closestMatch("conect_timeout_ms", kKeys), "connect_timeout_ms");
  EXPECT_EQ(closestMatch("hash-on", kKeys), "hash_on");
  EXPECT_EQ(closestMatch("LoadBalancer", kKeys), "load_balancer");
}

TEST(EditDistanceTest, SuggestsAKeyThatContainsADistinctiveFragment) {
  EXPECT_EQ(closestMatch("balancer", kKeys), "load_balancer");
  EXPECT_EQ(closestMatch("timeout", kKeys), "idle_timeout_ms");
}

TEST(EditDistanceTest, SuggestsNothingForAnotherWord) {
  EXPECT_EQ(closestMatch("zzz", kKeys), std::nullopt);
  EXPECT_EQ(closestMatch("routes", kKeys), std::nullopt);
  EXPECT_EQ(closestMatch("x", kKeys), std::nullopt);
  EXPECT_EQ(closestMatch("name", {}), std::nullopt);
}

}  // namespace
}  // namespace switchyard::config
