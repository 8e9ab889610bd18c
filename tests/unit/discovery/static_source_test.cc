#include "discovery/static_source.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <optional>

#include "tests/unit/discovery/run_until.h"

namespace switchyard::discovery {
namespace {

using switchyard::testing::runUntil;

config::StaticInstance configured(std::string host, uint16_t port, double weight = 1.0) {
  return config::StaticInstance{HostPort{std::move(host), port}, weight};
}

TEST(StaticSourceTest, ResolvesLiteralsAndCallsBackOnce) {
  boost::asio::io_context io;
  StaticSource source(io, {configured("127.0.0.1", 9002, 2.0), configured("127.0.0.1", 9001)});
  int calls = 0;
  InstanceSet got;
  source.start([&](InstanceSet set) {
    ++calls;
    got = std::move(set);
  });
  EXPECT_FALSE(source.ready());  // never calls back from inside start()
  EXPECT_EQ(calls, 0);
  ASSERT_TRUE(runUntil(io, [&] { return calls > 0; }));
  EXPECT_TRUE(source.ready());
  ASSERT_EQ(got.instances.size(), 2u);
  EXPECT_EQ(got.instances[0].address.port, 9001);  // sorted
  EXPECT_EQ(got.instances[0].ip, boost::asio::ip::make_address("127.0.0.1"));
  EXPECT_EQ(got.instances[1].weight, 2.0);
  // Nothing more comes: the loop runs dry.
  io.restart();
  io.run_for(std::chrono::milliseconds(50));
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(source.describe(), "static");
}

TEST(StaticSourceTest, ResolvesNamesAndSkipsOnesThatDoNotResolve) {
  boost::asio::io_context io;
  // RFC 6761: ".invalid" never resolves.
  StaticSource source(io, {configured("localhost", 9001), configured("no-such-host.invalid", 9002),
                           configured("::1", 9003)});
  std::optional<InstanceSet> got;
  source.start([&](InstanceSet set) { got = std::move(set); });
  ASSERT_TRUE(runUntil(
      io, [&] { return got.has_value(); }, std::chrono::seconds(30)));
  ASSERT_EQ(got->instances.size(), 2u);
  EXPECT_EQ(got->instances[0].address, (HostPort{"::1", 9003}));
  EXPECT_EQ(got->instances[0].ip, boost::asio::ip::make_address("::1"));
  EXPECT_EQ(got->instances[1].address, (HostPort{"localhost", 9001}));
  EXPECT_TRUE(got->instances[1].ip.is_loopback());
  EXPECT_TRUE(got->instances[1].ip.is_v4());  // IPv4 preferred
  EXPECT_TRUE(source.ready());
}

TEST(StaticSourceTest, NoCallbackAfterStopOrDestruction) {
  boost::asio::io_context io;
  int calls = 0;
  {
    StaticSource stopped(io, {configured("localhost", 9001)});
    stopped.start([&](InstanceSet) { ++calls; });
    stopped.stop();
    auto destroyed = std::make_unique<StaticSource>(
        io, std::vector<config::StaticInstance>{configured("localhost", 9001),
                                                configured("127.0.0.1", 1)});
    destroyed->start([&](InstanceSet) { ++calls; });
    destroyed.reset();  // with a lookup pending
    io.run_for(std::chrono::milliseconds(200));
  }
  io.restart();
  io.run_for(std::chrono::milliseconds(50));
  EXPECT_EQ(calls, 0);
}

}  // namespace
}  // namespace switchyard::discovery
