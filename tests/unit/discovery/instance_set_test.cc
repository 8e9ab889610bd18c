#include "discovery/instance_set.h"

#include <gtest/gtest.h>

namespace switchyard::discovery {
namespace {

Instance make(std::string host, uint16_t port, double weight = 1.0) {
  Instance instance;
  instance.address = HostPort{std::move(host), port};
  instance.weight = weight;
  return instance;
}

TEST(InstanceSetTest, NormalizeSortsByAddressAndKeepsTheFirstOfDuplicates) {
  InstanceSet set;
  set.instances = {make("b", 1), make("a", 2, 3.0), make("a", 1), make("a", 2, 5.0), make("b", 1)};
  set.normalize();
  ASSERT_EQ(set.instances.size(), 3u);
  EXPECT_EQ(set.instances[0].address, (HostPort{"a", 1}));
  EXPECT_EQ(set.instances[1].address, (HostPort{"a", 2}));
  EXPECT_EQ(set.instances[1].weight, 3.0);  // the first one written wins
  EXPECT_EQ(set.instances[2].address, (HostPort{"b", 1}));
}

TEST(InstanceSetTest, PortsCompareAsNumbers) {
  InstanceSet set;
  set.instances = {make("h", 10), make("h", 9)};
  set.normalize();
  EXPECT_EQ(set.instances[0].address.port, 9);
  EXPECT_EQ(set.instances[1].address.port, 10);
}

TEST(InstanceSetTest, FindReturnsTheInstanceOrNull) {
  InstanceSet set;
  set.instances = {make("c", 3), make("a", 1, 2.0), make("b", 2)};
  set.normalize();
  const Instance* found = set.find(HostPort{"a", 1});
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(found->weight, 2.0);
  EXPECT_NE(set.find(HostPort{"c", 3}), nullptr);
  EXPECT_EQ(set.find(HostPort{"a", 2}), nullptr);
  EXPECT_EQ(set.find(HostPort{"d", 1}), nullptr);
  EXPECT_EQ(InstanceSet{}.find(HostPort{"a", 1}), nullptr);
}

TEST(InstanceSetTest, EqualityNoticesAChangedWeight) {
  InstanceSet a, b;
  a.instances = {make("a", 1)};
  b.instances = {make("a", 1)};
  EXPECT_EQ(a, b);
  b.instances[0].weight = 0;
  EXPECT_NE(a, b);
}

}  // namespace
}  // namespace switchyard::discovery
