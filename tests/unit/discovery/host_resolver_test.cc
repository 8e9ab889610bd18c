#include "discovery/host_resolver.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include "tests/unit/discovery/run_until.h"

namespace switchyard::discovery {
namespace {

using switchyard::testing::runUntil;

Instance named(std::string host, uint16_t port) {
  Instance instance;
  instance.address = HostPort{std::move(host), port};
  return instance;
}

TEST(HostResolverTest, ReportsEveryNameThatDoesNotResolve) {
  boost::asio::io_context io;
  HostResolver resolver(io);
  bool done = false;
  InstanceSet got;
  std::vector<std::string> errors;
  resolver.resolve({named("no-such-host.invalid", 1), named("10.1.2.3", 2)},
                   [&](InstanceSet set, std::vector<std::string> e) {
                     done = true;
                     got = std::move(set);
                     errors = std::move(e);
                   });
  ASSERT_TRUE(runUntil(
      io, [&] { return done; }, std::chrono::seconds(30)));
  ASSERT_EQ(got.instances.size(), 1u);
  EXPECT_EQ(got.instances[0].ip, boost::asio::ip::make_address("10.1.2.3"));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("no-such-host.invalid:1"), std::string::npos) << errors[0];
}

TEST(HostResolverTest, ANewBatchSupersedesThePendingOne) {
  boost::asio::io_context io;
  HostResolver resolver(io);
  int first = 0, second = 0;
  InstanceSet got;
  resolver.resolve({named("localhost", 1)},
                   [&](InstanceSet, std::vector<std::string>) { ++first; });
  resolver.resolve({named("127.0.0.2", 2)}, [&](InstanceSet set, std::vector<std::string>) {
    ++second;
    got = std::move(set);
  });
  ASSERT_TRUE(runUntil(io, [&] { return second > 0; }));
  io.restart();
  io.run_for(std::chrono::milliseconds(100));
  EXPECT_EQ(first, 0);
  EXPECT_EQ(second, 1);
  ASSERT_EQ(got.instances.size(), 1u);
  EXPECT_EQ(got.instances[0].address.port, 2);
}

TEST(HostResolverTest, AnEmptyListCompletesAsynchronously) {
  boost::asio::io_context io;
  HostResolver resolver(io);
  bool done = false;
  resolver.resolve({}, [&](InstanceSet set, std::vector<std::string>) {
    done = true;
    EXPECT_TRUE(set.instances.empty());
  });
  EXPECT_FALSE(done);
  ASSERT_TRUE(runUntil(io, [&] { return done; }));
}

}  // namespace
}  // namespace switchyard::discovery
