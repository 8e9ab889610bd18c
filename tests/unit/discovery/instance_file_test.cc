#include "discovery/instance_file.h"

#include <gtest/gtest.h>

namespace switchyard::discovery {
namespace {

TEST(InstanceFileTest, ReadsStringsWithAndWithoutWeightAndMaps) {
  auto parsed = parseInstanceFile(
      "- \"10.0.0.1:8080\"\n"
      "- \"10.0.0.2:8081 2.5\"\n"
      "- { address: \"web-3:9000\", weight: 0, shard: 4 }\n"
      "- \"[::1]:7000\"\n");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  ASSERT_EQ(parsed->instances.size(), 4u);
  EXPECT_TRUE(parsed->entry_errors.empty());
  EXPECT_EQ(parsed->instances[0].address, (HostPort{"10.0.0.1", 8080}));
  EXPECT_EQ(parsed->instances[0].weight, 1.0);
  EXPECT_EQ(parsed->instances[1].weight, 2.5);
  EXPECT_EQ(parsed->instances[2].address, (HostPort{"web-3", 9000}));
  EXPECT_EQ(parsed->instances[2].weight, 0.0);
  EXPECT_EQ(parsed->instances[2].shard, 4);
  EXPECT_EQ(parsed->instances[3].address, (HostPort{"::1", 7000}));
}

TEST(InstanceFileTest, ABadEntrySkipsThatEntryOnly) {
  auto parsed = parseInstanceFile(
      "- \"10.0.0.1:8080\"\n"
      "- \"10.0.0.2\"\n"         // no port
      "- \"10.0.0.3:99999\"\n"   // bad port
      "- \"10.0.0.4:80 -1\"\n"   // negative weight
      "- \"10.0.0.5:80 1 2\"\n"  // extra field
      "- { address: \"10.0.0.6:80\", wieght: 2 }\n"
      "- [\"nested\"]\n"
      "- \"10.0.0.7:80 0.5\"\n");
  ASSERT_TRUE(parsed.ok());
  ASSERT_EQ(parsed->instances.size(), 2u);
  EXPECT_EQ(parsed->instances[0].address.host, "10.0.0.1");
  EXPECT_EQ(parsed->instances[1].address.host, "10.0.0.7");
  ASSERT_EQ(parsed->entry_errors.size(), 6u);
  EXPECT_NE(parsed->entry_errors[0].find("line 2"), std::string::npos) << parsed->entry_errors[0];
  EXPECT_NE(parsed->entry_errors[4].find("wieght"), std::string::npos) << parsed->entry_errors[4];
}

TEST(InstanceFileTest, AnUnusableFileIsAnError) {
  EXPECT_FALSE(parseInstanceFile("").ok());
  EXPECT_FALSE(parseInstanceFile("   \n").ok());
  EXPECT_FALSE(parseInstanceFile("- [unclosed\n").ok());
  EXPECT_FALSE(parseInstanceFile("a: b\n").ok());
  EXPECT_FALSE(parseInstanceFile("\"10.0.0.1:80\"\n").ok());
}

TEST(InstanceFileTest, AnEmptyListIsAValidEmptySet) {
  auto parsed = parseInstanceFile("[]\n");
  ASSERT_TRUE(parsed.ok());
  EXPECT_TRUE(parsed->instances.empty());
}

}  // namespace
}  // namespace switchyard::discovery
