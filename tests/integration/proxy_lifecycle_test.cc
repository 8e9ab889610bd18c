// The process around the proxy: graceful SIGTERM/SIGINT with requests in flight, `check`,
// `--version`, `--help`, and the admin API (/ready, /metrics, /clusters, /config).

#include <gtest/gtest.h>
#include <signal.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <thread>

#include "tests/support/gateway.h"
#include "tests/support/http_client.h"
#include "tests/support/switchyard_process.h"
#include "tests/support/test_backend.h"

namespace switchyard::support {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr const char* kConfig = R"(workers: 1
listeners:
  - name: web
    address: "127.0.0.1:${LISTEN}"
    protocol: http
    routes:
      - match: { path_prefix: "/" }
        cluster: web
clusters:
  - name: web
    discovery:
      static: [${WEB}]
admin:
  address: "127.0.0.1:${ADMIN}"
)";

template <class Pred>
bool waitUntil(Pred pred, std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (!pred()) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(10ms);  // poll interval
  }
  return true;
}

TEST(ProxyLifecycleTest, SigtermFinishesInFlightRequestsRefusesNewOnesAndExitsZero) {
  TestBackend backend("b1");
  backend.setBehavior(BackendBehavior::delayed(1500ms));
  Gateway gateway;
  ASSERT_TRUE(gateway.start(kConfig, {{"WEB", Gateway::addressList({backend.address()})}}));

  constexpr int kInFlight = 5;
  std::vector<std::unique_ptr<HttpClient>> clients;
  for (int i = 0; i < kInFlight; ++i) {
    clients.push_back(std::make_unique<HttpClient>());
    ASSERT_TRUE(clients.back()->connect(gateway.port()));
    ASSERT_TRUE(clients.back()->send(HttpClient::buildRequest("GET", "/" + std::to_string(i))));
  }
  ASSERT_TRUE(waitUntil([&] { return backend.requestCount() == kInFlight; }, 5s))
      << "only " << backend.requestCount() << " requests reached the backend";

  auto signalled = Clock::now();
  gateway.process().sendSignal(SIGTERM);
  // While the requests are still in flight, the listener stops accepting.
  bool refused = waitUntil(
      [&] {
        HttpClient probe;
        return !probe.connect(gateway.port(), 200ms);
      },
      1s);
  EXPECT_TRUE(refused) << "new connections are still accepted after SIGTERM";
  EXPECT_LT(Clock::now() - signalled, 1400ms) << "the listener closed only after the drain";

  for (int i = 0; i < kInFlight; ++i) {
    HttpResponse r = clients[i]->readResponse(ReadOptions::within(10s));
    ASSERT_TRUE(r.ok()) << "in-flight request " << i << " lost: " << r.describe();
    EXPECT_EQ(r.status, 200) << r.describe();
    EXPECT_EQ(r.body, "hello from b1");
    EXPECT_FALSE(r.keep_alive) << "a draining proxy should answer with Connection: close";
  }
  std::optional<int> status = gateway.process().waitExit(10s);
  ASSERT_TRUE(status.has_value()) << "switchyard did not exit after SIGTERM";
  EXPECT_EQ(*status, 0) << gateway.process().stderrText();
  HttpClient after;
  EXPECT_FALSE(after.connect(gateway.port(), 500ms));
}

TEST(ProxyLifecycleTest, SigintOnAnIdleGatewayExitsZeroPromptly) {
  TestBackend backend("b1");
  Gateway gateway;
  ASSERT_TRUE(gateway.start(kConfig, {{"WEB", Gateway::addressList({backend.address()})}}));
  // An idle keep-alive client must not hold the exit back.
  HttpClient idle;
  ASSERT_TRUE(idle.connect(gateway.port()));
  ASSERT_TRUE(idle.roundTrip(HttpClient::buildRequest("GET", "/")).ok());
  gateway.process().sendSignal(SIGINT);
  std::optional<int> status = gateway.process().waitExit(5s);
  ASSERT_TRUE(status.has_value()) << "switchyard did not exit after SIGINT";
  EXPECT_EQ(*status, 0) << gateway.process().stderrText();
  EXPECT_TRUE(idle.waitForClose(1s));
}

TEST(ProxyLifecycleTest, CheckAcceptsAValidFile) {
  std::string yaml =
      fillTemplate(kConfig, {{"LISTEN", "18080"}, {"ADMIN", "19901"}, {"WEB", "\"127.0.0.1:9\""}});
  CommandResult r = SwitchyardProcess::runCheck(yaml);
  EXPECT_EQ(r.exit_code, 0) << r.output();
}

TEST(ProxyLifecycleTest, CheckRejectsAnInvalidFileWithFileLineAndColumn) {
  std::string yaml =
      fillTemplate(kConfig, {{"LISTEN", "18080"}, {"ADMIN", "19901"}, {"WEB", "\"127.0.0.1:9\""}});
  // Line 2, column 1: an unknown top-level key.
  yaml = "workers: 1\nbogus_key: 3\n" + yaml.substr(yaml.find('\n') + 1);
  CommandResult r = SwitchyardProcess::runCheck(yaml);
  EXPECT_NE(r.exit_code, 0) << r.output();
  EXPECT_NE(r.output().find("switchyard.yaml:2:1"), std::string::npos) << r.output();
  EXPECT_NE(r.output().find("bogus_key"), std::string::npos) << r.output();
}

TEST(ProxyLifecycleTest, ServeRefusesAnInvalidFile) {
  TempDir dir;
  std::string path = dir.writeFile("bad.yaml", "listeners: 7\n");
  CommandResult r = SwitchyardProcess::run({"serve", "--config", path}, 5s);
  EXPECT_FALSE(r.timed_out) << "serve started on an invalid file";
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output().find("bad.yaml:1:"), std::string::npos) << r.output();
}

TEST(ProxyLifecycleTest, VersionAndHelpExitZero) {
  CommandResult version = SwitchyardProcess::run({"--version"});
  EXPECT_EQ(version.exit_code, 0) << version.output();
  EXPECT_NE(version.output().find("switchyard"), std::string::npos) << version.output();
  CommandResult help = SwitchyardProcess::run({"--help"});
  EXPECT_EQ(help.exit_code, 0) << help.output();
  EXPECT_NE(help.output().find("serve"), std::string::npos) << help.output();
  EXPECT_NE(help.output().find("check"), std::string::npos) << help.output();
  CommandResult serve_help = SwitchyardProcess::run({"serve", "--help"});
  EXPECT_EQ(serve_help.exit_code, 0) << serve_help.output();
  EXPECT_NE(serve_help.output().find("--config"), std::string::npos) << serve_help.output();
}

class AdminApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(
        gateway_.start(kConfig, {{"WEB", Gateway::addressList({b1_.address(), b2_.address()})}}));
    for (int i = 0; i < 4; ++i) {
      HttpResponse r = HttpClient::get(gateway_.port(), "/");
      ASSERT_TRUE(r.ok() && r.status == 200) << r.describe();
    }
  }
  HttpResponse admin(std::string_view target) {
    return HttpClient::get(gateway_.adminPort(), target);
  }
  TestBackend b1_{"b1"}, b2_{"b2"};
  Gateway gateway_;
};

TEST_F(AdminApiTest, ReadyIs200) {
  HttpResponse r = admin("/ready");
  EXPECT_TRUE(r.ok() && r.status == 200) << r.describe();
}

TEST_F(AdminApiTest, MetricsArePrometheusTextWithSwitchyardNames) {
  HttpResponse r = admin("/metrics");
  ASSERT_TRUE(r.ok() && r.status == 200) << r.describe();
  EXPECT_NE(r.header("content-type").find("text/plain"), std::string::npos) << r.describe();
  EXPECT_NE(r.body.find("# TYPE switchyard_"), std::string::npos) << r.body;
  // Every sample line is NAME[{labels}] VALUE with a switchyard_ name.
  std::regex sample(R"(^switchyard_[a-zA-Z0-9_:]*(\{.*\})? [-+0-9.eEInfa]+( [0-9]+)?$)");
  std::istringstream lines(r.body);
  std::string line;
  int samples = 0;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#') continue;
    EXPECT_TRUE(std::regex_match(line, sample)) << "not a Prometheus sample: " << line;
    ++samples;
  }
  EXPECT_GT(samples, 0);
}

TEST_F(AdminApiTest, ClustersListsEveryInstance) {
  HttpResponse r = admin("/clusters");
  ASSERT_TRUE(r.ok() && r.status == 200) << r.describe();
  nlohmann::json j;
  ASSERT_NO_THROW(j = nlohmann::json::parse(r.body)) << r.body;
  std::string text = j.dump();
  EXPECT_NE(text.find("\"web\""), std::string::npos) << text;
  EXPECT_NE(text.find(b1_.address()), std::string::npos) << text;
  EXPECT_NE(text.find(b2_.address()), std::string::npos) << text;
}

TEST_F(AdminApiTest, ConfigShowsTheRunningConfiguration) {
  HttpResponse r = admin("/config");
  ASSERT_TRUE(r.ok() && r.status == 200) << r.describe();
  EXPECT_NE(r.body.find(b1_.address()), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("web"), std::string::npos) << r.body;
}

}  // namespace
}  // namespace switchyard::support
