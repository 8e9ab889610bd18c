// ServerSetSource and ZkSession in-process against a real ZooKeeper server, where the test can
// reach what a separate gateway process hides: the session's id and password (to force an
// expiry) and every set the source hands over (to count them).

#include "discovery/serverset_source.h"

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <future>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/support/eventually.h"
#include "tests/support/zk_test_client.h"
#include "tests/support/zookeeper_server.h"

namespace switchyard::support {
namespace {

using namespace std::chrono_literals;
using discovery::InstanceSet;
using discovery::ServerSetSource;
using discovery::ZkSession;

constexpr const char* kPath = "/aurora/www-data/prod/web";

std::string member(uint16_t port) {
  return nlohmann::json{{"serviceEndpoint", {{"host", "127.0.0.1"}, {"port", port}}},
                        {"status", "ALIVE"}}
      .dump();
}

// The control thread of a gateway, reduced to what the source needs: an io_context on a thread
// of its own; the test calls into it with call(), which waits for the answer.
class ControlThread {
 public:
  ControlThread() : work_(io_.get_executor()), thread_([this] { io_.run(); }) {}
  ~ControlThread() {
    work_.reset();
    io_.stop();
    thread_.join();
  }
  template <class F>
  auto call(F f) {
    std::packaged_task<decltype(f())()> task(std::move(f));
    auto result = task.get_future();
    boost::asio::post(io_, [&task] { task(); });
    return result.get();
  }
  boost::asio::io_context& io() { return io_; }

 private:
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::thread thread_;
};

// Every set the source handed over, in order.
struct Updates {
  std::vector<InstanceSet> sets;
  mutable std::mutex mutex;

  void add(InstanceSet set) {
    std::lock_guard lock(mutex);
    sets.push_back(std::move(set));
  }
  size_t count() const {
    std::lock_guard lock(mutex);
    return sets.size();
  }
  std::vector<uint16_t> lastPorts() const {
    std::lock_guard lock(mutex);
    std::vector<uint16_t> ports;
    if (!sets.empty())
      for (const auto& instance : sets.back().instances) ports.push_back(instance.address.port);
    return ports;
  }
};

class ServerSetSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(zk_.start());
    ASSERT_TRUE(client_.connect(zk_.connectString()));
    ASSERT_TRUE(client_.createPath(kPath));
  }
  void TearDown() override {
    control_.call([&] {
      source_.reset();
      session_.reset();
      return 0;
    });
  }

  void startSource() {
    control_.call([&] {
      session_ = std::make_unique<ZkSession>(
          control_.io(), ZkSession::Options{zk_.connectString(), std::chrono::milliseconds(4000)});
      config::Discovery discovery;
      discovery.kind = config::DiscoveryKind::kServerSet;
      discovery.serverset = kPath;
      source_ = std::make_unique<ServerSetSource>(control_.io(), *session_, discovery, "web");
      source_->start([this](InstanceSet set) { updates_.add(std::move(set)); });
      session_->start();
      return 0;
    });
  }

  std::string add(uint16_t port) {
    auto created = client_.create(std::string(kPath) + "/member_", member(port),
                                  ZkNodeMode::kPersistentSequential);
    EXPECT_TRUE(created.ok()) << created.error().message;
    return created.ok() ? created.value() : "";
  }

  // The id and password of the source's live session, as ZkTestClient::expireSession wants them.
  bool gatewaySession(clientid_t& client_id) {
    int64_t id = 0;
    std::string password;
    if (!control_.call([&] { return session_->sessionCredentials(id, password); })) return false;
    client_id.client_id = id;
    std::memcpy(client_id.passwd, password.data(),
                std::min(password.size(), sizeof client_id.passwd));
    return true;
  }

  bool lastSetIs(std::vector<uint16_t> ports) {
    return eventually([&] { return updates_.lastPorts() == ports; }, 10s);
  }

  ZooKeeperServer zk_;
  ZkTestClient client_;
  ControlThread control_;
  std::unique_ptr<ZkSession> session_;
  std::unique_ptr<ServerSetSource> source_;
  Updates updates_;
};

TEST_F(ServerSetSourceTest, AForcedSessionExpiryIsFollowedByAFullResyncAndNewWatches) {
  const std::string m1 = add(1001);
  add(1002);
  startSource();
  ASSERT_TRUE(lastSetIs({1001, 1002}));
  EXPECT_TRUE(control_.call([&] { return source_->ready(); }));

  clientid_t client_id{};
  ASSERT_TRUE(gatewaySession(client_id));
  const size_t before = updates_.count();
  ASSERT_TRUE(ZkTestClient::expireSession(zk_.connectString(), client_id));
  // Changes while the gateway's session is dead or being replaced: the resync must find them.
  ASSERT_TRUE(client_.remove(m1));
  add(1003);

  ASSERT_TRUE(eventually(
      [&] {
        return control_.call([&] {
          return session_->figures().expirations == 1 &&
                 session_->figures().sessions_established == 2 &&
                 session_->state() == ZkSession::State::kConnected;
        });
      },
      20s));
  ASSERT_TRUE(lastSetIs({1002, 1003}));
  // Fail static: no set in between was empty or lost members it still had.
  {
    std::lock_guard lock(updates_.mutex);
    for (size_t i = before; i < updates_.sets.size(); ++i)
      EXPECT_FALSE(updates_.sets[i].instances.empty()) << "update " << i << " was empty";
  }
  // The watches of the new session work: another change arrives.
  add(1004);
  ASSERT_TRUE(lastSetIs({1002, 1003, 1004}));
}

TEST_F(ServerSetSourceTest, AResyncWithNothingChangedHandsOverNothing) {
  add(1001);
  startSource();
  ASSERT_TRUE(lastSetIs({1001}));
  clientid_t client_id{};
  ASSERT_TRUE(gatewaySession(client_id));
  const size_t before = updates_.count();
  ASSERT_TRUE(ZkTestClient::expireSession(zk_.connectString(), client_id));
  ASSERT_TRUE(eventually(
      [&] { return control_.call([&] { return session_->figures().sessions_established == 2; }); },
      20s));
  // One change after the new session: whether the resync read before or after it, exactly one
  // update arrives (an unchanged resync hands over nothing).
  add(1002);
  ASSERT_TRUE(lastSetIs({1001, 1002}));
  EXPECT_EQ(updates_.count(), before + 1);
}

TEST_F(ServerSetSourceTest, OneMemberChangeReadsOnlyThatMember) {
  for (uint16_t port = 2000; port < 2050; ++port) add(port);
  startSource();
  ASSERT_TRUE(eventually([&] { return updates_.lastPorts().size() == 50; }, 10s));
  const std::string last = add(2050);
  ASSERT_TRUE(eventually([&] { return updates_.lastPorts().size() == 51; }, 10s));
  const uint64_t reads = control_.call([&] { return source_->status().reads; });
  ASSERT_TRUE(client_.set(last, member(2051)));
  ASSERT_TRUE(eventually([&] { return updates_.lastPorts().back() == 2051; }, 10s));
  const auto status = control_.call([&] { return source_->status(); });
  EXPECT_EQ(status.reads, reads + 1) << "a data change re-reads that member only";
  EXPECT_EQ(status.members, 51u);
  EXPECT_TRUE(status.rejected.empty());
}

}  // namespace
}  // namespace switchyard::support
