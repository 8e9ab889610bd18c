// Binary upgrades (proxy/listener_takeover.h), end to end with real processes: a new
// `switchyard serve --takeover-socket PATH` takes the listening sockets of the one running there,
// which then drains and exits. Clients opening a connection per request all along see no refused
// connection and no failed request; a request in flight on the old process is answered; a new
// process that fails before it serves leaves the old one serving.

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/eventually.h"
#include "tests/support/free_port.h"
#include "tests/support/http_client.h"
#include "tests/support/load_loop.h"
#include "tests/support/switchyard_process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_backend.h"
#include "tests/support/zk_test_client.h"
#include "tests/support/zookeeper_server.h"

namespace switchyard::support {
namespace {

using namespace std::chrono_literals;

constexpr const char* kConfig = R"(
workers: 2
listeners:
  - name: web
    address: "127.0.0.1:${LISTEN}"
    routes:
      - match: { path_prefix: "/" }
        cluster: web
${MORE_LISTENERS}
clusters:
  - name: web
    discovery: { static: [${BACKENDS}] }
admin:
  address: "127.0.0.1:${ADMIN}"
)";

class BinaryUpgradeTest : public ::testing::Test {
 protected:
  BinaryUpgradeTest() : listen_(freeLoopbackPort()), admin_(freeLoopbackPort()) {}

  std::string config(const std::string& backends, const std::string& more_listeners = "") {
    return fillTemplate(kConfig, {{"LISTEN", std::to_string(listen_)},
                                  {"ADMIN", std::to_string(admin_)},
                                  {"BACKENDS", backends},
                                  {"MORE_LISTENERS", more_listeners}});
  }
  // Starts a gateway generation with the takeover socket; the previous one (if any) must then
  // exit 0 on its own.
  ::testing::AssertionResult startGeneration(const std::string& yaml) {
    generations_.push_back(std::make_unique<SwitchyardProcess>(yaml, admin_));
    return generations_.back()->start(10s, {"--takeover-socket", socket_});
  }
  ::testing::AssertionResult previousExited() {
    if (generations_.size() < 2) return ::testing::AssertionFailure() << "no previous generation";
    auto& old = *generations_[generations_.size() - 2];
    auto status = old.waitExit(15s);
    if (!status) return ::testing::AssertionFailure() << "still running:\n" << old.stderrText();
    if (*status != 0)
      return ::testing::AssertionFailure() << "exit status " << *status << "\n" << old.stderrText();
    return ::testing::AssertionSuccess();
  }

  uint16_t listen_;
  uint16_t admin_;
  TempDir dir_{"takeover"};
  std::string socket_ = dir_.file("takeover.sock");
  std::vector<std::unique_ptr<SwitchyardProcess>> generations_;
};

TEST_F(BinaryUpgradeTest, UpgradesInARowUnderLoadRefuseAndFailNothing) {
  TestBackend a("a"), b("b");
  const std::string yaml = config("\"" + a.address() + "\", \"" + b.address() + "\"");
  ASSERT_TRUE(startGeneration(yaml));
  EXPECT_NE(generations_[0]->stderrText().find("no gateway running at"), std::string::npos)
      << generations_[0]->stderrText();
  // Clients that open a new connection for every request: a refused or reset one fails.
  std::vector<std::unique_ptr<LoadLoop>> load;
  for (int i = 0; i < 3; ++i) load.push_back(std::make_unique<LoadLoop>(listen_));
  auto successes = [&] {
    uint64_t n = 0;
    for (auto& l : load) n += l->succeeded();
    return n;
  };
  ASSERT_TRUE(eventually([&] { return successes() >= 200; }, 10s));
  constexpr int kUpgrades = 5;
  for (int i = 1; i <= kUpgrades; ++i) {
    ASSERT_TRUE(startGeneration(yaml));
    ASSERT_TRUE(previousExited()) << "upgrade " << i;
    const std::string log = generations_.back()->stderrText();
    // Two workers' listening sockets and the admin socket.
    EXPECT_NE(log.find("takeover: 3 listening socket(s) from the gateway running at"),
              std::string::npos)
        << log;
    const uint64_t before = successes();
    ASSERT_TRUE(eventually([&] { return successes() >= before + 200; }, 10s));
  }
  uint64_t sent = 0, failed = 0;
  std::vector<std::string> failures;
  for (auto& l : load) {
    l->stop();
    sent += l->sent();
    failed += l->failed();
    for (auto& f : l->failures()) failures.push_back(f);
  }
  EXPECT_EQ(failed, 0u) << "of " << sent << ", first: " << (failures.empty() ? "" : failures[0]);
  EXPECT_GT(sent, 1000u);
  // The last generation serves the admin API alone.
  HttpResponse r = HttpClient::get(admin_, "/ready", {}, 2s);
  EXPECT_EQ(r.status, 200) << r.describe();
}

TEST_F(BinaryUpgradeTest, ARequestInFlightOnTheOldProcessIsAnswered) {
  TestBackend slow("slow");
  slow.setBehavior(BackendBehavior::delayed(1500ms));
  const std::string yaml = config("\"" + slow.address() + "\"");
  ASSERT_TRUE(startGeneration(yaml));
  auto in_flight = std::async(std::launch::async,
                              [port = listen_] { return HttpClient::get(port, "/", {}, 10s); });
  ASSERT_TRUE(eventually([&] { return slow.requestCount() == 1; }, 5s));
  ASSERT_TRUE(startGeneration(yaml));
  HttpResponse r = in_flight.get();
  EXPECT_EQ(r.status, 200) << r.describe();
  EXPECT_EQ(r.header("x-backend"), "slow");
  ASSERT_TRUE(previousExited());
  // The new generation answers too.
  EXPECT_EQ(HttpClient::get(listen_, "/", {}, 10s).status, 200);
}

TEST_F(BinaryUpgradeTest, ANewProcessThatFailsBeforeServingLeavesTheOldOneServing) {
  TestBackend a("a");
  const std::string yaml = config("\"" + a.address() + "\"");
  ASSERT_TRUE(startGeneration(yaml));
  // The new configuration has a second listener on a port someone else holds: that process
  // takes the sockets, cannot bind, and exits without saying READY.
  TestBackend squatter("squatter");
  const std::string broken =
      config("\"" + a.address() + "\"", "  - name: other\n    address: \"" + squatter.address() +
                                            "\"\n    routes: [ { match: { path_prefix: \"/\" }, "
                                            "cluster: web } ]");
  generations_.push_back(std::make_unique<SwitchyardProcess>(broken, admin_));
  // (start() may see the old process's /ready on the shared admin socket: the exit is the test.)
  (void)generations_.back()->start(5s, {"--takeover-socket", socket_});
  auto status = generations_.back()->waitExit(5s);
  ASSERT_TRUE(status.has_value()) << generations_.back()->stderrText();
  EXPECT_NE(*status, 0);
  EXPECT_NE(generations_.back()->stderrText().find(squatter.address()), std::string::npos)
      << generations_.back()->stderrText();
  // The old one still serves, and says what happened.
  auto& old = *generations_[0];
  EXPECT_TRUE(old.running());
  EXPECT_EQ(HttpClient::get(listen_, "/", {}, 5s).status, 200);
  EXPECT_TRUE(eventually(
      [&] { return old.stderrText().find("went away before it was ready") != std::string::npos; },
      5s))
      << old.stderrText();
  // And a good upgrade still takes over from it.
  generations_.erase(generations_.begin() + 1);
  ASSERT_TRUE(startGeneration(yaml));
  ASSERT_TRUE(previousExited());
  EXPECT_EQ(HttpClient::get(listen_, "/", {}, 5s).status, 200);
}

TEST_F(BinaryUpgradeTest, TheNewProcessTakesOverOnlyOnceItHasReadItsServerSets) {
  // Accepting from the shared sockets before its instances are known would answer 503: with
  // ZooKeeper down, the new process waits and the old one serves; when ZooKeeper is back, the
  // new one reads its set and takes over.
  ZooKeeperServer zk;
  ASSERT_TRUE(zk.start());
  TestBackend a("a");
  {
    ZkTestClient client;
    ASSERT_TRUE(client.connect(zk.connectString()));
    ASSERT_TRUE(client.createPath("/aurora/web"));
    auto m = client.create("/aurora/web/member_",
                           "{\"serviceEndpoint\": {\"host\": \"127.0.0.1\", \"port\": " +
                               std::to_string(a.port()) + "}, \"status\": \"ALIVE\"}",
                           ZkNodeMode::kPersistentSequential);
    ASSERT_TRUE(m.ok());
  }
  const std::string yaml = fillTemplate(R"(
zookeeper: { servers: "${ZK}", session_timeout_ms: 4000 }
workers: 2
listeners:
  - name: web
    address: "127.0.0.1:${LISTEN}"
    routes: [ { match: { path_prefix: "/" }, cluster: web } ]
clusters:
  - name: web
    discovery: { serverset: /aurora/web }
admin:
  address: "127.0.0.1:${ADMIN}"
)",
                                        {{"ZK", zk.connectString()},
                                         {"LISTEN", std::to_string(listen_)},
                                         {"ADMIN", std::to_string(admin_)}});
  ASSERT_TRUE(startGeneration(yaml));
  LoadLoop load(listen_);
  ASSERT_TRUE(load.waitForSuccesses(100, 10s));
  zk.stop();
  generations_.push_back(std::make_unique<SwitchyardProcess>(yaml, admin_));
  (void)generations_.back()->start(3s, {"--takeover-socket", socket_});
  ASSERT_TRUE(eventually(
      [&] {
        return generations_.back()->stderrText().find("waiting until every discovery source") !=
               std::string::npos;
      },
      5s));
  // Meanwhile the old process serves every request.
  ASSERT_TRUE(load.waitForSuccesses(300, 10s));
  EXPECT_TRUE(generations_[0]->running());
  ASSERT_TRUE(zk.start());
  ASSERT_TRUE(previousExited());
  ASSERT_TRUE(load.waitForSuccesses(100, 10s));
  load.stop();
  EXPECT_EQ(load.failed(), 0u) << "of " << load.sent() << ", first: "
                               << (load.failures().empty() ? "" : load.failures()[0]);
}

TEST_F(BinaryUpgradeTest, SigtermStillDrainsAndRemovesTheTakeoverSocket) {
  TestBackend a("a");
  ASSERT_TRUE(startGeneration(config("\"" + a.address() + "\"")));
  ASSERT_EQ(::access(socket_.c_str(), F_OK), 0) << "no socket at " << socket_;
  generations_[0]->sendSignal(SIGTERM);
  auto status = generations_[0]->waitExit(10s);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(*status, 0);
  EXPECT_NE(::access(socket_.c_str(), F_OK), 0) << "left behind: " << socket_;
}

}  // namespace
}  // namespace switchyard::support
