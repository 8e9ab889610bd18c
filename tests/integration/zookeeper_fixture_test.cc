// The ZooKeeper test fixture itself (tests/support/zookeeper_server.h, zookeeper_ensemble.h,
// zk_test_client.h) against Debian's real ZooKeeper server: nodes are written and read, a server
// stopped and started again keeps its data and its port, a forced expiry removes a session's
// ephemeral nodes, an ensemble serves with one member killed, and no server outlives its fixture.
// When a discovery test fails, these passing says the fault is not in the fixture.

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <fstream>
#include <thread>

#include "tests/support/zk_test_client.h"
#include "tests/support/zookeeper_ensemble.h"
#include "tests/support/zookeeper_server.h"

namespace switchyard::support {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Polls cond every 10 ms until it holds or timeout passes.
template <class Cond>
bool eventually(Cond cond, std::chrono::milliseconds timeout = 10s) {
  auto deadline = Clock::now() + timeout;
  while (!cond()) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

// True when pid is no longer a process running this server's config (gone, or a reused PID).
bool processGone(pid_t pid, const std::string& config_marker) {
  if (::kill(pid, 0) != 0) return errno == ESRCH;
  std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline");
  std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return cmdline.find(config_marker) == std::string::npos;
}

TEST(ZooKeeperFixtureTest, CreatesAndReadsNodes) {
  ZooKeeperServer zk;
  auto t0 = Clock::now();
  ASSERT_TRUE(zk.start());
  auto startup_ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0);
  RecordProperty("startup_ms", static_cast<int>(startup_ms.count()));
  EXPECT_NE(zk.fourLetterWord("srvr").find("Mode: standalone"), std::string::npos);

  ZkTestClient client;
  ASSERT_TRUE(client.connect(zk.connectString()));
  EXPECT_EQ(client.currentServer(), zk.connectString());
  EXPECT_TRUE(zk.hasSession(client.sessionId()));
  ASSERT_TRUE(client.createPath("/aurora/www/prod/web"));
  ASSERT_TRUE(client.createPath("/aurora/www/prod/web"));  // mkdir -p: existing is fine
  auto m1 =
      client.create("/aurora/www/prod/web/member_", R"({"a":1})", ZkNodeMode::kEphemeralSequential);
  ASSERT_TRUE(m1.ok()) << m1.error().message;
  EXPECT_EQ(*m1, "/aurora/www/prod/web/member_0000000000");
  auto m2 = client.create("/aurora/www/prod/web/member_", "", ZkNodeMode::kEphemeralSequential);
  ASSERT_TRUE(m2.ok()) << m2.error().message;
  EXPECT_EQ(*m2, "/aurora/www/prod/web/member_0000000001");
  ASSERT_TRUE(client.create("/aurora/www/prod/web/vector_x", "v").ok());

  auto data = client.get(*m1);
  ASSERT_TRUE(data.ok()) << data.error().message;
  EXPECT_EQ(*data, R"({"a":1})");
  auto empty = client.get(*m2);
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(*empty, "");
  ASSERT_TRUE(client.set(*m2, std::string(100'000, 'x')));
  EXPECT_EQ(client.get(*m2)->size(), 100'000u);
  std::string oversize(1024 * 1024 + 1, 'y');  // more than ZooKeeper's default packet limit
  ASSERT_TRUE(client.set(*m2, oversize));
  EXPECT_EQ(*client.get(*m2), oversize);

  auto kids = client.children("/aurora/www/prod/web");
  ASSERT_TRUE(kids.ok());
  EXPECT_EQ(*kids,
            (std::vector<std::string>{"member_0000000000", "member_0000000001", "vector_x"}));
  ASSERT_TRUE(client.remove(*m1));
  EXPECT_FALSE(*client.exists(*m1));
  EXPECT_TRUE(*client.exists(*m2));

  // Errors are values naming the path and ZooKeeper's reason.
  auto missing = client.get("/nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("/nope"), std::string::npos);
  EXPECT_NE(missing.error().message.find("no node"), std::string::npos) << missing.error().message;
  EXPECT_FALSE(client.create("/aurora/www/prod/web/vector_x", "again").ok());
  EXPECT_FALSE(client.remove("/aurora/www"));  // has children

  ASSERT_TRUE(client.removeRecursive("/aurora"));
  EXPECT_FALSE(*client.exists("/aurora"));
  EXPECT_TRUE(client.removeRecursive("/aurora"));  // already gone is fine
}

TEST(ZooKeeperFixtureTest, StopAndStartKeepPortAndPersistentData) {
  ZooKeeperServer zk;
  ASSERT_TRUE(zk.start());
  std::string connect = zk.connectString();
  {
    ZkTestClient client;
    ASSERT_TRUE(client.connect(connect));
    ASSERT_TRUE(client.createPath("/keep/me"));
    ASSERT_TRUE(client.create("/keep/me/data", "persisted").ok());
  }
  pid_t first = zk.pid();
  zk.stop();
  EXPECT_FALSE(zk.running());
  ZkTestClient refused;
  EXPECT_FALSE(refused.connect(connect, 4s, 500ms));

  ASSERT_TRUE(zk.start());
  EXPECT_NE(zk.pid(), first);
  EXPECT_EQ(zk.connectString(), connect);
  ZkTestClient client;
  ASSERT_TRUE(client.connect(connect));
  auto data = client.get("/keep/me/data");
  ASSERT_TRUE(data.ok()) << data.error().message;
  EXPECT_EQ(*data, "persisted");
}

TEST(ZooKeeperFixtureTest, SessionSurvivesARestartShorterThanItsTimeout) {
  ZooKeeperServer zk;
  ASSERT_TRUE(zk.start());
  ZkTestClient owner, observer;
  ASSERT_TRUE(owner.connect(zk.connectString(), 4s));
  ASSERT_TRUE(owner.create("/eph", "x", ZkNodeMode::kEphemeral).ok());
  int64_t session = owner.sessionId();

  zk.kill();  // a crash: the session is not closed
  ASSERT_TRUE(owner.waitForState(ZOO_CONNECTING_STATE, 5s));
  ASSERT_TRUE(zk.start());
  ASSERT_TRUE(owner.waitForState(ZOO_CONNECTED_STATE, 10s));
  EXPECT_EQ(owner.sessionId(), session);
  ASSERT_TRUE(observer.connect(zk.connectString()));
  EXPECT_TRUE(*observer.exists("/eph"));
}

TEST(ZooKeeperFixtureTest, ExpiredSessionLosesItsEphemeralNodes) {
  ZooKeeperServer zk;
  ASSERT_TRUE(zk.start());
  ZkTestClient owner, observer;
  ASSERT_TRUE(owner.connect(zk.connectString(), 2s));
  EXPECT_GE(owner.negotiatedTimeoutMs(), 400);
  ASSERT_TRUE(observer.connect(zk.connectString()));
  ASSERT_TRUE(owner.createPath("/set"));
  auto member = owner.create("/set/member_", "{}", ZkNodeMode::kEphemeralSequential);
  ASSERT_TRUE(member.ok()) << member.error().message;
  ASSERT_TRUE(*observer.exists(*member));

  auto t0 = Clock::now();
  ASSERT_TRUE(ZkTestClient::expireSession(zk.connectString(), owner.clientId()));
  EXPECT_TRUE(eventually([&] { return !*observer.exists(*member); }));
  EXPECT_TRUE(owner.waitForState(ZOO_EXPIRED_SESSION_STATE, 10s)) << "state " << owner.state();
  RecordProperty(
      "expiry_ms",
      static_cast<int>(
          std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count()));
  EXPECT_FALSE(owner.get("/set").ok());   // an expired handle is dead
  EXPECT_TRUE(*observer.exists("/set"));  // persistent nodes stay
  // Expiring a session that is already gone says so.
  EXPECT_FALSE(ZkTestClient::expireSession(zk.connectString(), owner.clientId(), 3s));
}

TEST(ZooKeeperFixtureTest, EnsembleServesWithTheConnectedServerKilled) {
  ZooKeeperEnsemble ensemble;
  auto t0 = Clock::now();
  ASSERT_TRUE(ensemble.start());
  RecordProperty(
      "ensemble_startup_ms",
      static_cast<int>(
          std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count()));
  ZkTestClient client;
  ASSERT_TRUE(client.connect(ensemble.connectString(), 4s));
  ASSERT_TRUE(client.create("/before", "1").ok());

  // Three ways to find the member this client talks to agree.
  auto by_address = ensemble.indexOf(client.currentServer());
  ASSERT_TRUE(by_address.has_value()) << client.currentServer();
  EXPECT_EQ(ensemble.serverWithSession(client.sessionId()), by_address);
  EXPECT_EQ(ensemble.serverConnectedFrom(::getpid()), by_address);
  size_t victim = *by_address;
  int64_t session = client.sessionId();

  ensemble.kill(victim);
  EXPECT_FALSE(ensemble.server(victim).running());
  // The client moves to another member within its session timeout and keeps its session.
  ASSERT_TRUE(eventually([&] {
    auto now = ensemble.indexOf(client.currentServer());
    return client.connected() && now.has_value() && *now != victim;
  }));
  EXPECT_EQ(client.sessionId(), session);
  // When the victim was the leader, the others elect a new one and drop their clients once more
  // meanwhile (connection loss, session kept): an operation may need a second try.
  Result<std::string> data = makeError("not read");
  ASSERT_TRUE(eventually([&] { return (data = client.get("/before")).ok(); }))
      << data.error().message;
  EXPECT_EQ(*data, "1");
  ASSERT_TRUE(eventually([&] {
    auto created = client.create("/during", "2");
    // A create whose answer was lost may have been applied: then the node exists.
    return created.ok() || (client.exists("/during").ok() && *client.exists("/during"));
  }));
  EXPECT_EQ(client.sessionId(), session);

  ASSERT_TRUE(ensemble.start(victim));
  ZkTestClient direct;
  ASSERT_TRUE(direct.connect(ensemble.server(victim).connectString()));
  EXPECT_TRUE(
      eventually([&] { return direct.exists("/during").ok() && *direct.exists("/during"); }));
}

TEST(ZooKeeperFixtureTest, NoServerOutlivesItsFixture) {
  pid_t standalone_pid = -1;
  std::string standalone_dir;
  {
    ZooKeeperServer zk;
    ASSERT_TRUE(zk.start());
    standalone_pid = zk.pid();
    standalone_dir = zk.configPath();
    ASSERT_FALSE(processGone(standalone_pid, standalone_dir));
  }
  EXPECT_TRUE(processGone(standalone_pid, standalone_dir));

  // A server killed and never restarted, and one never started, are fine too.
  {
    ZooKeeperServer zk;
    ASSERT_TRUE(zk.start());
    zk.kill();
    ZooKeeperServer never_started;
  }
}

}  // namespace
}  // namespace switchyard::support
