// `switchyard announce` against a real ZooKeeper server: the real binary as a child process, the
// member read back with a separate client, health checks against a real backend, ZooKeeper
// stopped and restarted, the announcer frozen (SIGSTOP) until the servers expire its session.

#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "proxy/announce_command.h"
#include "tests/support/child_process.h"
#include "tests/support/run_command.h"
#include "tests/support/switchyard_process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_backend.h"
#include "tests/support/zk_test_client.h"
#include "tests/support/zookeeper_server.h"

namespace switchyard {
namespace {

using namespace std::chrono_literals;
using support::BackendBehavior;
using support::BackendRequest;
using support::ChildProcess;
using support::TempDir;
using support::TestBackend;
using support::ZkTestClient;
using support::ZooKeeperServer;

constexpr char kSet[] = "/services/prod/web";

// Polls `predicate` every 10 ms until it holds; false after `bound` (a failure limit, not a wait).
bool eventually(const std::function<bool()>& predicate, std::chrono::milliseconds bound) {
  const auto deadline = std::chrono::steady_clock::now() + bound;
  while (!predicate()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

// `switchyard announce ARGS...` running in the background, its output in a temp dir.
class Announce {
 public:
  explicit Announce(std::vector<std::string> args) : args_(std::move(args)) {}
  ~Announce() { process_.kill(); }

  ::testing::AssertionResult start() {
    std::vector<std::string> argv = {SWITCHYARD_BINARY, "announce"};
    argv.insert(argv.end(), args_.begin(), args_.end());
    const std::string error = process_.spawn(argv, dir_.path(), dir_.file("announce.log"));
    if (!error.empty()) return ::testing::AssertionFailure() << error;
    return ::testing::AssertionSuccess();
  }
  pid_t pid() const { return process_.pid(); }
  bool running() { return process_.running(); }
  std::optional<int> waitExit(std::chrono::milliseconds bound) { return process_.waitExit(bound); }
  void signal(int sig) { ::kill(process_.pid(), sig); }
  std::string log() const { return dir_.readFile("announce.log"); }

 private:
  std::vector<std::string> args_;
  TempDir dir_{"switchyard-announce"};
  ChildProcess process_;
};

class AnnounceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(zk_.start());
    ASSERT_TRUE(client_.connect(zk_.connectString()));
  }

  // The member_ children of kSet (none when the set does not exist).
  std::vector<std::string> members() {
    auto children = client_.children(kSet);
    if (!children) return {};
    std::vector<std::string> out;
    for (auto& c : *children)
      if (c.rfind("member_", 0) == 0) out.push_back(c);
    return out;
  }
  bool waitMembers(size_t n, std::chrono::milliseconds bound = 10s) {
    return eventually([&] { return members().size() == n; }, bound);
  }
  std::string memberData(const std::string& name) {
    auto data = client_.get(std::string(kSet) + "/" + name);
    return data ? *data : std::string();
  }

  // The usual flags: this server, kSet, a short session so that expiry tests are quick.
  std::vector<std::string> baseArgs() const {
    return {"--zk", zk_.connectString(), "--path", kSet, "--session-timeout-ms", "1500"};
  }

  ZooKeeperServer zk_;
  ZkTestClient client_;
};

TEST_F(AnnounceTest, RegistersAnEphemeralMemberInAuroraFormatCreatingTheParents) {
  auto args = baseArgs();
  args.insert(args.end(),
              {"--endpoint", "admin=127.0.0.1:9990", "--endpoint", "http=127.0.0.1:31337",
               "--endpoint", "health=127.0.0.1:31338", "--shard", "7"});
  Announce announce(args);
  ASSERT_TRUE(announce.start());
  ASSERT_TRUE(waitMembers(1)) << announce.log();

  const auto name = members().front();
  EXPECT_EQ(name.size(), std::string("member_0000000000").size()) << name;
  const auto member = nlohmann::json::parse(memberData(name));
  // "http" is the service endpoint although it is not the first.
  EXPECT_EQ(member["serviceEndpoint"],
            nlohmann::json::parse(R"({"host":"127.0.0.1","port":31337})"));
  EXPECT_EQ(member["additionalEndpoints"], nlohmann::json::parse(R"({
      "admin": {"host":"127.0.0.1","port":9990},
      "http": {"host":"127.0.0.1","port":31337},
      "health": {"host":"127.0.0.1","port":31338}})"));
  EXPECT_EQ(member["status"], "ALIVE");
  EXPECT_EQ(member["shard"], 7);
  EXPECT_EQ(member.size(), 4u) << member.dump();

  // Ephemeral: killed without a chance to delete it, the member goes with its session.
  announce.signal(SIGKILL);
  ASSERT_TRUE(announce.waitExit(5s));
  EXPECT_TRUE(waitMembers(0, 10s)) << "the member outlived its session";
  // The parents are persistent.
  auto exists = client_.exists(kSet);
  ASSERT_TRUE(exists);
  EXPECT_TRUE(*exists);
}

TEST_F(AnnounceTest, ServiceEndpointIsTheNamedOneOrTheFirst) {
  auto first = baseArgs();
  first.insert(first.end(),
               {"--endpoint", "thrift=127.0.0.1:9001", "--endpoint", "admin=127.0.0.1:9002"});
  auto chosen = baseArgs();
  chosen.insert(chosen.end(), {"--endpoint", "http=127.0.0.1:9003", "--endpoint",
                               "grpc=127.0.0.1:9004", "--service-endpoint", "grpc"});
  Announce a(first), b(chosen);
  ASSERT_TRUE(a.start());
  ASSERT_TRUE(b.start());
  ASSERT_TRUE(waitMembers(2)) << a.log() << b.log();
  std::vector<int> service_ports;
  for (const auto& name : members()) {
    const auto member = nlohmann::json::parse(memberData(name));
    service_ports.push_back(member["serviceEndpoint"]["port"]);
    EXPECT_FALSE(member.contains("shard")) << "no --shard, no shard: " << member.dump();
  }
  std::sort(service_ports.begin(), service_ports.end());
  EXPECT_EQ(service_ports, (std::vector<int>{9001, 9004}));
}

TEST_F(AnnounceTest, SigtermRemovesTheMemberBeforeExitingZero) {
  auto args = baseArgs();
  args.insert(args.end(), {"--endpoint", "http=127.0.0.1:31337"});
  Announce announce(args);
  ASSERT_TRUE(announce.start());
  ASSERT_TRUE(waitMembers(1)) << announce.log();

  announce.signal(SIGTERM);
  const auto status = announce.waitExit(10s);
  // Read at once: the session timeout (1.5 s) has not passed, so only a deletion explains it.
  const auto left = members();
  ASSERT_TRUE(status.has_value()) << announce.log();
  EXPECT_EQ(*status, 0) << announce.log();
  EXPECT_TRUE(left.empty()) << "still there after exit: " << left.front();
  EXPECT_NE(announce.log().find("withdrew " + std::string(kSet) + "/member_"), std::string::npos)
      << announce.log();
}

TEST_F(AnnounceTest, SigintToo) {
  auto args = baseArgs();
  args.insert(args.end(), {"--endpoint", "http=127.0.0.1:31337"});
  Announce announce(args);
  ASSERT_TRUE(announce.start());
  ASSERT_TRUE(waitMembers(1)) << announce.log();
  announce.signal(SIGINT);
  const auto status = announce.waitExit(10s);
  const auto left = members();
  ASSERT_TRUE(status.has_value()) << announce.log();
  EXPECT_EQ(*status, 0);
  EXPECT_TRUE(left.empty());
}

TEST_F(AnnounceTest, HealthUrlWithdrawsWhileFailingAndReturnsWhenPassing) {
  TestBackend backend("instance");
  std::atomic<int> health_status{503};
  std::atomic<int> health_checks{0};
  backend.setHandler([&](const BackendRequest& request) {
    if (request.target != "/health") return BackendBehavior::fixed(404);
    ++health_checks;
    return BackendBehavior::fixed(health_status.load());
  });
  auto args = baseArgs();
  args.insert(args.end(), {"--endpoint", "http=" + backend.address(), "--health-url",
                           "http://" + backend.address() + "/health", "--health-interval-ms", "50",
                           "--unhealthy-after", "2", "--healthy-after", "2"});
  Announce announce(args);
  ASSERT_TRUE(announce.start());

  // Failing from the start: checked several times, never announced.
  ASSERT_TRUE(eventually([&] { return health_checks >= 5; }, 10s)) << announce.log();
  EXPECT_TRUE(members().empty()) << announce.log();

  health_status = 200;
  ASSERT_TRUE(waitMembers(1)) << announce.log();
  const auto first = members().front();

  // Failing again: withdrawn, while the process keeps running.
  health_status = 500;
  ASSERT_TRUE(waitMembers(0)) << announce.log();
  EXPECT_TRUE(announce.running());

  // Passing again (any 2xx): a new member.
  health_status = 204;
  ASSERT_TRUE(waitMembers(1)) << announce.log();
  EXPECT_NE(members().front(), first);

  // A failure that is not even an answer: the instance gone.
  backend.stop();
  ASSERT_TRUE(waitMembers(0)) << announce.log();
  EXPECT_NE(announce.log().find("failed 2 time(s) in a row (status 500): withdrawing"),
            std::string::npos)
      << announce.log();

  announce.signal(SIGTERM);
  EXPECT_EQ(announce.waitExit(10s), std::optional<int>(0)) << announce.log();
}

TEST_F(AnnounceTest, HealthTimeoutCountsAsAFailure) {
  TestBackend backend("slow");
  std::atomic<bool> slow{false};
  backend.setHandler([&](const BackendRequest&) {
    return slow ? BackendBehavior::delayed(2s) : BackendBehavior::fixed(200);
  });
  auto args = baseArgs();
  args.insert(args.end(), {"--endpoint", "http=" + backend.address(), "--health-url",
                           "http://" + backend.address() + "/", "--health-interval-ms", "50",
                           "--health-timeout-ms", "100"});
  Announce announce(args);
  ASSERT_TRUE(announce.start());
  ASSERT_TRUE(waitMembers(1)) << announce.log();
  slow = true;
  ASSERT_TRUE(waitMembers(0)) << announce.log();
  EXPECT_NE(announce.log().find("timed out after 100 ms"), std::string::npos) << announce.log();
}

TEST_F(AnnounceTest, RecreatesTheMemberAfterItsSessionExpired) {
  auto args = baseArgs();
  args.insert(args.end(), {"--endpoint", "http=127.0.0.1:31337"});
  Announce announce(args);
  ASSERT_TRUE(announce.start());
  ASSERT_TRUE(waitMembers(1)) << announce.log();
  const auto before = members().front();

  // Frozen, the announcer sends no heartbeat: the servers expire its session and delete the
  // member. Thawed, it hears of the expiry, opens a new session and announces again.
  announce.signal(SIGSTOP);
  const bool expired = waitMembers(0, 15s);
  announce.signal(SIGCONT);
  ASSERT_TRUE(expired) << "the session of a stopped process did not expire";
  ASSERT_TRUE(waitMembers(1)) << announce.log();
  EXPECT_NE(members().front(), before);
  EXPECT_NE(announce.log().find("expired"), std::string::npos) << announce.log();
  EXPECT_TRUE(announce.running());
}

TEST_F(AnnounceTest, SurvivesZooKeeperDownLongerThanTheSessionTimeout) {
  auto args = baseArgs();
  args.insert(args.end(), {"--endpoint", "http=127.0.0.1:31337"});
  Announce announce(args);
  ASSERT_TRUE(announce.start());
  ASSERT_TRUE(waitMembers(1)) << announce.log();

  client_.close();
  zk_.stop();
  // Down for three session timeouts: the announcer notices and keeps trying.
  ASSERT_TRUE(
      eventually([&] { return announce.log().find("connection lost") != std::string::npos; }, 10s))
      << announce.log();
  std::this_thread::sleep_for(4500ms);  // the outage itself, not a wait for a condition
  EXPECT_TRUE(announce.running());
  ASSERT_TRUE(zk_.start());
  ASSERT_TRUE(client_.connect(zk_.connectString()));

  // Back: the same session if the restarted server kept it, else a new member in a new one.
  ASSERT_TRUE(waitMembers(1, 15s)) << announce.log();
  EXPECT_TRUE(announce.running());
  announce.signal(SIGTERM);
  EXPECT_EQ(announce.waitExit(10s), std::optional<int>(0)) << announce.log();
  EXPECT_TRUE(members().empty());
}

TEST_F(AnnounceTest, WaitsForAZooKeeperThatIsNotThereYet) {
  client_.close();
  zk_.stop();
  auto args = baseArgs();
  args.insert(args.end(), {"--endpoint", "http=127.0.0.1:31337"});
  Announce announce(args);
  ASSERT_TRUE(announce.start());
  // Not a crash: it says ZooKeeper is unreachable and stays up.
  ASSERT_TRUE(
      eventually([&] { return announce.log().find("unreachable for") != std::string::npos; }, 10s))
      << announce.log();
  EXPECT_TRUE(announce.running()) << announce.log();

  ASSERT_TRUE(zk_.start());
  ASSERT_TRUE(client_.connect(zk_.connectString()));
  ASSERT_TRUE(waitMembers(1, 15s)) << announce.log();
}

TEST_F(AnnounceTest, AnUnresolvableZooKeeperIsRetriedAndSigtermStillExitsZero) {
  Announce announce({"--zk", "zookeeper.invalid:2181", "--path", kSet, "--endpoint",
                     "http=127.0.0.1:31337", "--stop-timeout-ms", "500"});
  ASSERT_TRUE(announce.start());
  ASSERT_TRUE(eventually([&] { return announce.log().find("retrying") != std::string::npos; }, 10s))
      << announce.log();
  EXPECT_TRUE(announce.running()) << announce.log();
  announce.signal(SIGTERM);
  EXPECT_EQ(announce.waitExit(5s), std::optional<int>(0)) << announce.log();
}

TEST_F(AnnounceTest, SigtermWhileZooKeeperIsDownExitsWithinTheStopTimeout) {
  auto args = baseArgs();
  args.insert(args.end(), {"--endpoint", "http=127.0.0.1:31337", "--stop-timeout-ms", "300"});
  Announce announce(args);
  ASSERT_TRUE(announce.start());
  ASSERT_TRUE(waitMembers(1)) << announce.log();
  client_.close();
  zk_.stop();
  ASSERT_TRUE(
      eventually([&] { return announce.log().find("connection lost") != std::string::npos; }, 10s))
      << announce.log();
  announce.signal(SIGTERM);
  EXPECT_EQ(announce.waitExit(5s), std::optional<int>(0)) << announce.log();
  EXPECT_NE(announce.log().find("did not confirm the removal"), std::string::npos)
      << announce.log();
}

struct BadFlags {
  std::vector<std::string> args;
  std::string message;  // a part of the error
};

TEST(AnnounceFlagsTest, BadFlagsExitTwoWithAMessage) {
  const std::vector<BadFlags> cases = {
      {{"--path", "/a", "--endpoint", "http=127.0.0.1:80"}, "--zk is required"},
      {{"--zk", "127.0.0.1:2181", "--endpoint", "http=127.0.0.1:80"}, "--path is required"},
      {{"--zk", "127.0.0.1:2181", "--path", "/a"}, "--endpoint is required"},
      {{"--zk", "127.0.0.1", "--path", "/a", "--endpoint", "http=127.0.0.1:80"}, "--zk"},
      {{"--zk", "127.0.0.1:2181/", "--path", "/a", "--endpoint", "http=127.0.0.1:80"}, "chroot"},
      {{"--zk", "127.0.0.1:2181", "--path", "a/b", "--endpoint", "http=127.0.0.1:80"}, "absolute"},
      {{"--zk", "127.0.0.1:2181", "--path", "/a//b", "--endpoint", "http=127.0.0.1:80"}, "//"},
      {{"--zk", "127.0.0.1:2181", "--path", "/a/", "--endpoint", "http=127.0.0.1:80"}, "trailing"},
      {{"--zk", "127.0.0.1:2181", "--path", "/a", "--endpoint", "127.0.0.1:80"}, "NAME=HOST:PORT"},
      {{"--zk", "127.0.0.1:2181", "--path", "/a", "--endpoint", "http=127.0.0.1:0"}, "port"},
      {{"--zk", "127.0.0.1:2181", "--path", "/a", "--endpoint", "http=127.0.0.1:70000"}, "port"},
      {{"--zk", "127.0.0.1:2181", "--path", "/a", "--endpoint", "h ttp=127.0.0.1:80"}, "name"},
      {{"--zk", "127.0.0.1:2181", "--path", "/a", "--endpoint", "http=127.0.0.1:80", "--endpoint",
        "http=127.0.0.1:81"},
       "twice"},
      {{"--zk", "127.0.0.1:2181", "--path", "/a", "--endpoint", "http=127.0.0.1:80",
        "--service-endpoint", "grpc"},
       "grpc"},
      {{"--zk", "127.0.0.1:2181", "--path", "/a", "--endpoint", "http=127.0.0.1:80", "--shard",
        "-1"},
       "--shard"},
      {{"--zk", "127.0.0.1:2181", "--path", "/a", "--endpoint", "http=127.0.0.1:80", "--shard",
        "x"},
       "--shard"},
      {{"--zk", "127.0.0.1:2181", "--path", "/a", "--endpoint", "http=127.0.0.1:80", "--health-url",
        "https://127.0.0.1/health"},
       "https is not supported"},
      {{"--zk", "127.0.0.1:2181", "--path", "/a", "--endpoint", "http=127.0.0.1:80", "--health-url",
        "127.0.0.1:80/health"},
       "http://"},
      {{"--zk", "127.0.0.1:2181", "--path", "/a", "--endpoint", "http=127.0.0.1:80", "--health-url",
        "http://:80/health"},
       "--health-url"},
      {{"--zk", "127.0.0.1:2181", "--path", "/a", "--endpoint", "http=127.0.0.1:80",
        "--health-timeout-ms", "0"},
       "--health-timeout-ms"},
      {{"--zk", "127.0.0.1:2181", "--path", "/a", "--endpoint", "http=127.0.0.1:80",
        "--unhealthy-after", "0"},
       "--unhealthy-after"},
      {{"--zk", "127.0.0.1:2181", "--path", "/a", "--endpoint", "http=127.0.0.1:80",
        "--frobnicate"},
       "frobnicate"},
  };
  for (const auto& c : cases) {
    std::vector<std::string> args = {"announce"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    const auto r = support::SwitchyardProcess::run(args, 10s);
    std::string line;
    for (const auto& a : args) line += a + " ";
    EXPECT_EQ(r.exit_code, 2) << line << "\n" << r.output();
    EXPECT_NE(r.err.find(c.message), std::string::npos)
        << line << "\nexpected \"" << c.message << "\" in:\n"
        << r.err;
  }
}

TEST(AnnounceFlagsTest, HelpNamesEveryFlagAndTheServiceEndpointRule) {
  const auto r = support::SwitchyardProcess::run({"announce", "--help"}, 10s);
  EXPECT_EQ(r.exit_code, 0) << r.output();
  for (const char* flag :
       {"--zk", "--path", "--endpoint", "--service-endpoint", "--shard", "--health-url",
        "--health-interval-ms", "--health-timeout-ms", "--unhealthy-after", "--healthy-after",
        "--session-timeout-ms", "--stop-timeout-ms", "named \"http\"", "plain http://"})
    EXPECT_NE(r.out.find(flag), std::string::npos) << flag << " missing from:\n" << r.out;
}

// The member's JSON, in process: Aurora's key order, integers as integers.
TEST(AnnounceFlagsTest, MemberJsonKeepsAurorasKeyOrder) {
  CLI::App app;
  proxy::AnnounceCommand command(app);
  std::vector<std::string> argv = {"announce", "--zk",       "h:2181",     "--path",
                                   "/x",       "--endpoint", "health=h:2", "--endpoint",
                                   "http=h:1", "--shard",    "0"};
  std::reverse(argv.begin(), argv.end());  // CLI11 takes a reversed vector
  app.parse(argv);
  auto options = command.options();
  ASSERT_TRUE(options) << options.error().message;
  EXPECT_EQ(discovery::Announcer::memberJson(*options),
            R"({"serviceEndpoint":{"host":"h","port":1},"additionalEndpoints":{"health":)"
            R"({"host":"h","port":2},"http":{"host":"h","port":1}},"status":"ALIVE","shard":0})");
}

}  // namespace
}  // namespace switchyard
