// `protocol: tcp` listeners end to end: the real gateway binary, real sockets, raw TCP backends
// (tests/support/tcp_backend.h: echo, reply-after-EOF, greet-and-half-close) and a raw client.
// Bytes both ways with checksums, half-close both ways, balancing, connect failure, no instance,
// idle timeout, a departed (and an operator-drained) instance's tunnel kept until drain_timeout_ms,
// SIGTERM with an open tunnel, max_connections, the access log and the admin figures.

#include <gtest/gtest.h>
#include <signal.h>

#include <future>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/admin_metrics.h"
#include "tests/support/checksum.h"
#include "tests/support/eventually.h"
#include "tests/support/free_port.h"
#include "tests/support/gateway.h"
#include "tests/support/http_client.h"
#include "tests/support/tcp_backend.h"
#include "tests/support/tcp_client.h"
#include "tests/support/temp_dir.h"
#include "tests/support/zk_test_client.h"
#include "tests/support/zookeeper_server.h"

namespace switchyard::support {
namespace {

using namespace std::chrono_literals;

constexpr const char* kConfig = R"(
workers: ${WORKERS}
listeners:
  - name: tunnel
    address: "127.0.0.1:${LISTEN}"
    protocol: tcp
    cluster: backends
    limits: { idle_timeout_ms: ${IDLE}, max_connections: ${MAX_CONNS} }
clusters:
  - name: backends
    discovery: ${DISCOVERY}
    load_balancer: ${LB}
    connect_timeout_ms: 500
    drain_timeout_ms: ${DRAIN}
    max_connections_per_instance: ${PER_INSTANCE}
    ${CLUSTER_EXTRA}
admin:
  address: "127.0.0.1:${ADMIN}"
${EXTRA}
)";

// Fills kConfig: `vars` has DISCOVERY (a flow mapping) and any of the others to change.
::testing::AssertionResult startGateway(Gateway& gateway, std::map<std::string, std::string> vars) {
  const std::map<std::string, std::string> defaults = {
      {"LB", "round_robin"},   {"WORKERS", "1"},      {"IDLE", "60000"}, {"DRAIN", "30000"},
      {"MAX_CONNS", "100000"}, {"CLUSTER_EXTRA", ""}, {"EXTRA", ""},     {"PER_INSTANCE", "1024"}};
  for (const auto& [key, value] : defaults) vars.try_emplace(key, value);
  return gateway.start(kConfig, vars);
}

std::string staticList(std::initializer_list<std::string> addresses) {
  return "{ static: [" + Gateway::addressList(addresses) + "] }";
}

nlohmann::json clustersJson(Gateway& gateway) {
  HttpResponse r = HttpClient::get(gateway.adminPort(), "/clusters", {}, 2s);
  auto json = nlohmann::json::parse(r.body, nullptr, false);
  return json.is_discarded() ? nlohmann::json::object() : json;
}

// The /clusters entry of one instance of "backends" (null when absent).
nlohmann::json instance(Gateway& gateway, const std::string& address) {
  auto json = clustersJson(gateway);
  if (json.contains("clusters"))
    for (const auto& c : json["clusters"])
      for (const auto& i : c["instances"])
        if (i["address"] == address) return i;
  return nullptr;
}

TEST(TcpProxyTest, RelaysLargePayloadsBothWaysAndCountsThem) {
  TcpBackend echo;
  TempDir dir;
  Gateway gateway;
  ASSERT_TRUE(startGateway(gateway, {{"DISCOVERY", staticList({echo.address()})},
                                     {"WORKERS", "2"},
                                     {"EXTRA", "access_log: { path: \"" + dir.file("access.log") +
                                                   "\", format: json }"}}));

  constexpr uint64_t kSize = 48ull << 20;
  TcpClient client;
  ASSERT_TRUE(client.connect(gateway.port()));
  // The upload runs beside the download: with fixed buffers on every hop, one without the
  // other would stall both (the echo backend stops reading when its writes block).
  auto sent = std::async(std::launch::async, [&] { return client.sendPattern(kSize); });
  Checksum received;
  const uint64_t got = client.read(kSize, 60s, [&](std::string_view s) { received.update(s); });
  ASSERT_TRUE(sent.get());
  ASSERT_EQ(got, kSize);
  EXPECT_EQ(received.hex(), Checksum::ofPattern(kSize).hex());
  // Our EOF reaches the backend, whose EOF comes back: the tunnel ends cleanly.
  client.shutdownWrite();
  EXPECT_TRUE(client.waitClosed(5s));

  ASSERT_TRUE(eventually(
      [&] {
        return metricSample(gateway.adminPort(),
                            "switchyard_downstream_tunnel_sent_bytes_total{listener=\"tunnel\"}") ==
               static_cast<double>(kSize);
      },
      5s));
  EXPECT_EQ(metricSample(gateway.adminPort(),
                         "switchyard_downstream_tunnel_received_bytes_total{listener=\"tunnel\"}"),
            static_cast<double>(kSize));
  EXPECT_EQ(metricSample(gateway.adminPort(),
                         "switchyard_downstream_connections_open{listener=\"tunnel\"}"),
            0);
  auto json = clustersJson(gateway);
  ASSERT_TRUE(json.contains("listeners"));
  EXPECT_EQ(json["listeners"][0]["protocol"], "tcp");
  EXPECT_EQ(json["listeners"][0]["cluster"], "backends");
  EXPECT_EQ(json["listeners"][0]["bytes_sent"], kSize);
  // The live page has the listener, its cluster and its bytes.
  const std::string page = HttpClient::get(gateway.adminPort(), "/", {}, 2s).body;
  EXPECT_NE(page.find("<td>tunnel</td><td>tcp</td>"), std::string::npos) << page;
  EXPECT_NE(page.find("<td>backends</td>"), std::string::npos) << page;
  EXPECT_NE(page.find("<td>" + std::to_string(kSize) + "</td>"), std::string::npos) << page;
  auto inst = instance(gateway, echo.address());
  EXPECT_EQ(inst["requests"], 1) << inst.dump();
  EXPECT_EQ(inst["in_flight"], 0) << inst.dump();

  // One access-log line for the tunnel, with both byte counts and the instance.
  std::string log;
  ASSERT_TRUE(eventually(
      [&] {
        log = dir.readFile("access.log");
        return !log.empty();
      },
      5s));
  auto line = nlohmann::json::parse(log.substr(0, log.find('\n')), nullptr, false);
  ASSERT_FALSE(line.is_discarded()) << log;
  EXPECT_EQ(line["protocol"], "TCP");
  EXPECT_EQ(line["upstream"], echo.address());
  EXPECT_EQ(line["bytes_sent"], kSize);
  EXPECT_EQ(line["bytes_received"], kSize);
  EXPECT_FALSE(line.contains("error")) << log;
}

TEST(TcpProxyTest, TheClientsHalfCloseReachesTheInstanceWhichStillAnswers) {
  TcpBackend backend(TcpMode::kReplyAfterEof);
  Gateway gateway;
  ASSERT_TRUE(startGateway(gateway, {{"DISCOVERY", staticList({backend.address()})}}));
  TcpClient client;
  ASSERT_TRUE(client.connect(gateway.port()));
  ASSERT_TRUE(client.send(std::string(100000, 'x')));
  client.shutdownWrite();
  std::string got;
  EXPECT_TRUE(client.waitClosed(5s, &got));
  EXPECT_EQ(got, "received 100000\n");
}

TEST(TcpProxyTest, TheInstancesHalfCloseReachesTheClientWhichStillSends) {
  TcpBackend backend(TcpMode::kGreetAndHalfClose);
  Gateway gateway;
  ASSERT_TRUE(startGateway(gateway, {{"DISCOVERY", staticList({backend.address()})}}));
  TcpClient client;
  ASSERT_TRUE(client.connect(gateway.port()));
  std::string got;
  EXPECT_TRUE(client.waitClosed(5s, &got)) << "the instance's EOF did not come through";
  EXPECT_EQ(got, "hello\n");
  // Our direction is still open: what we send now reaches the instance.
  ASSERT_TRUE(client.send(std::string(70000, 'y')));
  client.shutdownWrite();
  EXPECT_TRUE(eventually([&] { return backend.receivedAfterHalfClose() == 70000; }, 5s))
      << backend.receivedAfterHalfClose();
}

TEST(TcpProxyTest, RoundRobinSpreadsTunnelsOverTheInstances) {
  TcpBackend a, b, c;
  Gateway gateway;
  ASSERT_TRUE(
      startGateway(gateway, {{"DISCOVERY", staticList({a.address(), b.address(), c.address()})}}));
  for (int i = 0; i < 30; ++i) {
    TcpClient client;
    ASSERT_TRUE(client.connect(gateway.port()));
    ASSERT_TRUE(client.echoes("ping " + std::to_string(i)));
  }
  EXPECT_EQ(a.accepted(), 10u);
  EXPECT_EQ(b.accepted(), 10u);
  EXPECT_EQ(c.accepted(), 10u);
}

TEST(TcpProxyTest, LeastRequestCountsOpenTunnels) {
  TcpBackend a, b;
  Gateway gateway;
  ASSERT_TRUE(startGateway(
      gateway, {{"DISCOVERY", staticList({a.address(), b.address()})}, {"LB", "least_request"}}));
  // Tunnels held open are in flight: with two instances, least_request alternates.
  std::vector<std::unique_ptr<TcpClient>> open;
  for (int i = 0; i < 10; ++i) {
    open.push_back(std::make_unique<TcpClient>());
    ASSERT_TRUE(open.back()->connect(gateway.port()));
    ASSERT_TRUE(open.back()->echoes("hold"));
  }
  EXPECT_EQ(a.open(), 5);
  EXPECT_EQ(b.open(), 5);
  EXPECT_EQ(instance(gateway, a.address())["in_flight"], 5);
  open.clear();
  EXPECT_TRUE(eventually([&] { return instance(gateway, a.address())["in_flight"] == 0; }, 5s));
}

TEST(TcpProxyTest, SourceIpHashKeepsAClientAddressOnOneInstance) {
  TcpBackend a, b, c;
  const std::vector<TcpBackend*> all{&a, &b, &c};
  Gateway gateway;
  ASSERT_TRUE(
      startGateway(gateway, {{"DISCOVERY", staticList({a.address(), b.address(), c.address()})},
                             {"LB", "ring_hash"},
                             {"CLUSTER_EXTRA", "hash_on: source_ip"}}));
  // Which backend a tunnel from `source` reached (-1: none).
  auto tunnelFrom = [&](const std::string& source) {
    std::vector<size_t> before;
    for (auto* backend : all) before.push_back(backend->accepted());
    TcpClient client;
    if (!client.connect(gateway.port(), source) || !client.echoes("hi")) return -1;
    for (size_t i = 0; i < all.size(); ++i)
      if (all[i]->accepted() != before[i]) return static_cast<int>(i);
    return -1;
  };
  std::set<int> used;
  for (int host = 2; host < 22; ++host) {
    const std::string source = "127.0.0." + std::to_string(host);
    const int first = tunnelFrom(source);
    ASSERT_GE(first, 0) << source;
    for (int k = 0; k < 3; ++k) EXPECT_EQ(tunnelFrom(source), first) << source;
    used.insert(first);
  }
  EXPECT_GT(used.size(), 1u) << "every address hashed to one instance";
}

TEST(TcpProxyTest, AConnectFailureMovesTheTunnelToAnotherInstance) {
  TcpBackend live;
  const std::string dead = "127.0.0.1:" + std::to_string(freeLoopbackPort());  // nothing listens
  Gateway gateway;
  ASSERT_TRUE(startGateway(gateway, {{"DISCOVERY", staticList({dead, live.address()})}}));
  for (int i = 0; i < 6; ++i) {
    TcpClient client;
    ASSERT_TRUE(client.connect(gateway.port()));
    ASSERT_TRUE(client.echoes("ping")) << "tunnel " << i;
  }
  EXPECT_EQ(live.accepted(), 6u);
  auto inst = instance(gateway, dead);
  EXPECT_GE(inst["connect_failures"].get<int>(), 1) << inst.dump();
  EXPECT_GE(
      metricSample(gateway.adminPort(), "switchyard_cluster_retries_total{cluster=\"backends\"}"),
      1);
}

TEST(TcpProxyTest, WhenEveryConnectFailsTheClientIsClosed) {
  const std::string dead1 = "127.0.0.1:" + std::to_string(freeLoopbackPort());
  const std::string dead2 = "127.0.0.1:" + std::to_string(freeLoopbackPort());
  Gateway gateway;
  ASSERT_TRUE(startGateway(gateway, {{"DISCOVERY", staticList({dead1, dead2})}}));
  TcpClient client;
  ASSERT_TRUE(client.connect(gateway.port()));
  std::string got;
  EXPECT_TRUE(client.waitClosed(5s, &got));
  EXPECT_EQ(got, "");
  EXPECT_EQ(metricSample(gateway.adminPort(),
                         "switchyard_errors_total{listener=\"tunnel\",cause=\"connect-failure\"}"),
            1);
}

TEST(TcpProxyTest, WithoutAnInstanceTheClientIsClosedAtOnce) {
  TcpBackend drained;
  Gateway gateway;
  ASSERT_TRUE(startGateway(gateway, {{"DISCOVERY", staticList({drained.address() + " 0"})}}));
  TcpClient client;
  ASSERT_TRUE(client.connect(gateway.port()));
  std::string got;
  EXPECT_TRUE(client.waitClosed(2s, &got));
  EXPECT_EQ(got, "");
  EXPECT_EQ(drained.accepted(), 0u);
  EXPECT_EQ(metricSample(gateway.adminPort(),
                         "switchyard_cluster_no_instance_total{cluster=\"backends\"}"),
            1);
  EXPECT_EQ(
      metricSample(gateway.adminPort(),
                   "switchyard_errors_total{listener=\"tunnel\",cause=\"no-healthy-instance\"}"),
      1);
}

TEST(TcpProxyTest, AnIdleTunnelIsClosedAndABusyOneIsNot) {
  TcpBackend echo;
  Gateway gateway;
  ASSERT_TRUE(
      startGateway(gateway, {{"DISCOVERY", staticList({echo.address()})}, {"IDLE", "1000"}}));
  TcpClient busy, idle;
  ASSERT_TRUE(busy.connect(gateway.port()));
  ASSERT_TRUE(idle.connect(gateway.port()));
  ASSERT_TRUE(busy.echoes("first"));
  ASSERT_TRUE(idle.echoes("first"));
  // Bytes every 100 ms for 2.5 idle timeouts: each one restarts the clock (a stall of the
  // loaded machine shorter than 0.9 s cannot close it).
  const auto until = std::chrono::steady_clock::now() + 2500ms;
  while (std::chrono::steady_clock::now() < until) {
    ASSERT_TRUE(busy.echoes("tick"));
    std::this_thread::sleep_for(100ms);  // pacing the traffic, not waiting for an outcome
  }
  EXPECT_TRUE(idle.waitClosed(3s));
  EXPECT_TRUE(busy.waitClosed(3s)) << "silent now: closed after the idle timeout";
  EXPECT_EQ(metricSample(gateway.adminPort(),
                         "switchyard_errors_total{listener=\"tunnel\",cause=\"idle-timeout\"}"),
            2);
  EXPECT_TRUE(eventually([&] { return echo.open() == 0; }, 5s));
}

// Opens one tunnel to each of two round-robin instances; returns the one that reached `a`.
std::pair<std::unique_ptr<TcpClient>, std::unique_ptr<TcpClient>> tunnelsOnAandB(Gateway& gateway,
                                                                                 TcpBackend& a) {
  auto first = std::make_unique<TcpClient>();
  auto second = std::make_unique<TcpClient>();
  if (!first->connect(gateway.port()) || !first->echoes("one")) return {};
  const bool first_on_a = a.accepted() == 1;
  if (!second->connect(gateway.port()) || !second->echoes("two")) return {};
  if (first_on_a) return {std::move(first), std::move(second)};
  return {std::move(second), std::move(first)};
}

TEST(TcpProxyTest, ADepartedInstancesTunnelWorksUntilTheDrainTimeout) {
  TcpBackend a, b;
  TempDir dir;
  const std::string file =
      dir.writeFile("instances.yaml", "- \"" + a.address() + "\"\n- \"" + b.address() + "\"\n");
  Gateway gateway;
  ASSERT_TRUE(
      startGateway(gateway, {{"DISCOVERY", "{ file: \"" + file + "\" }"}, {"DRAIN", "2500"}}));
  auto [on_a, on_b] = tunnelsOnAandB(gateway, a);
  ASSERT_TRUE(on_a && on_b);
  ASSERT_EQ(a.accepted(), 1u);

  const auto removed = std::chrono::steady_clock::now();
  dir.writeFile("instances.yaml", "- \"" + b.address() + "\"\n");
  ASSERT_TRUE(eventually(
      [&] {
        auto i = instance(gateway, a.address());
        return i.is_object() && i["status"] == "draining";
      },
      5s));
  // Departed: its open tunnel still carries bytes, new tunnels go elsewhere.
  EXPECT_TRUE(on_a->echoes("still here"));
  for (int i = 0; i < 4; ++i) {
    TcpClient client;
    ASSERT_TRUE(client.connect(gateway.port()));
    ASSERT_TRUE(client.echoes("new"));
  }
  EXPECT_EQ(a.accepted(), 1u);
  // At drain_timeout_ms after the gateway saw the departure (which was after `removed`).
  EXPECT_TRUE(on_a->waitClosed(10s));
  EXPECT_GE(std::chrono::steady_clock::now() - removed, 2400ms)
      << "closed before the drain timeout";
  EXPECT_TRUE(on_b->echoes("unaffected"));
  EXPECT_EQ(metricSample(gateway.adminPort(),
                         "switchyard_errors_total{listener=\"tunnel\",cause=\"drain-timeout\"}"),
            1);
  EXPECT_TRUE(eventually([&] { return a.open() == 0; }, 5s));
}

TEST(TcpProxyTest, AnInstanceLeavingItsServerSetKeepsItsTunnelUntilTheDrainTimeout) {
  ZooKeeperServer zk;
  ASSERT_TRUE(zk.start());
  ZkTestClient zk_client;
  ASSERT_TRUE(zk_client.connect(zk.connectString()));
  const std::string set = "/aurora/dba/prod/pg";
  ASSERT_TRUE(zk_client.createPath(set));
  TcpBackend a, b;
  auto member = [&](const TcpBackend& backend) {
    const std::string data = nlohmann::json{
        {"serviceEndpoint", {{"host", "127.0.0.1"}, {"port", backend.port()}}},
        {"status", "ALIVE"}}.dump();
    auto created = zk_client.create(set + "/member_", data, ZkNodeMode::kEphemeralSequential);
    EXPECT_TRUE(created.ok());
    return created.ok() ? created.value() : std::string();
  };
  const std::string member_a = member(a);
  member(b);
  Gateway gateway;
  ASSERT_TRUE(
      startGateway(gateway, {{"DISCOVERY", "{ serverset: \"" + set + "\" }"},
                             {"DRAIN", "2000"},
                             {"EXTRA", "zookeeper: { servers: \"" + zk.connectString() + "\" }"}}));
  ASSERT_TRUE(eventually([&] { return instance(gateway, b.address()).is_object(); }, 10s));
  auto [on_a, on_b] = tunnelsOnAandB(gateway, a);
  ASSERT_TRUE(on_a && on_b);

  const auto removed = std::chrono::steady_clock::now();
  ASSERT_TRUE(zk_client.remove(member_a));
  ASSERT_TRUE(eventually(
      [&] {
        auto i = instance(gateway, a.address());
        return i.is_object() && i["status"] == "draining";
      },
      10s));
  EXPECT_TRUE(on_a->echoes("still here"));
  TcpClient fresh;
  ASSERT_TRUE(fresh.connect(gateway.port()));
  ASSERT_TRUE(fresh.echoes("new"));
  EXPECT_EQ(a.accepted(), 1u);
  EXPECT_TRUE(on_a->waitClosed(10s));
  EXPECT_GE(std::chrono::steady_clock::now() - removed, 1900ms)
      << "closed before the drain timeout";
  EXPECT_TRUE(on_b->echoes("unaffected"));
}

TEST(TcpProxyTest, AnOperatorDrainClosesTheInstancesTunnelsAtTheDrainTimeout) {
  TcpBackend a, b;
  Gateway gateway;
  ASSERT_TRUE(startGateway(
      gateway, {{"DISCOVERY", staticList({a.address(), b.address()})}, {"DRAIN", "1500"}}));
  auto [on_a, on_b] = tunnelsOnAandB(gateway, a);
  ASSERT_TRUE(on_a && on_b);
  const auto drained = std::chrono::steady_clock::now();
  HttpClient admin;
  ASSERT_TRUE(admin.connect(gateway.adminPort()));
  HttpResponse r = admin.roundTrip(HttpClient::buildRequest(
      "POST", "/clusters/backends/instances/" + a.address() + "/drain", {{"Connection", "close"}}));
  ASSERT_EQ(r.status, 200) << r.describe() << r.body;
  EXPECT_TRUE(on_a->echoes("still here"));
  for (int i = 0; i < 4; ++i) {
    TcpClient client;
    ASSERT_TRUE(client.connect(gateway.port()));
    ASSERT_TRUE(client.echoes("new"));
  }
  EXPECT_EQ(a.accepted(), 1u);
  EXPECT_TRUE(on_a->waitClosed(10s));
  EXPECT_GE(std::chrono::steady_clock::now() - drained, 1400ms)
      << "closed before the drain timeout";
  EXPECT_TRUE(on_b->echoes("unaffected"));
}

TEST(TcpProxyTest, SigtermKeepsAnOpenTunnelUntilItCloses) {
  TcpBackend echo;
  Gateway gateway;
  ASSERT_TRUE(
      startGateway(gateway, {{"DISCOVERY", staticList({echo.address()})}, {"WORKERS", "2"}}));
  TcpClient tunnel;
  ASSERT_TRUE(tunnel.connect(gateway.port()));
  ASSERT_TRUE(tunnel.echoes("before"));
  gateway.process().sendSignal(SIGTERM);
  // The listener closes: new connections are refused...
  EXPECT_TRUE(eventually([&] { return !TcpClient().connect(gateway.port()); }, 5s));
  // ... while the open tunnel carries on.
  EXPECT_TRUE(tunnel.echoes("after SIGTERM"));
  EXPECT_TRUE(gateway.process().running());
  tunnel.shutdownWrite();
  EXPECT_TRUE(tunnel.waitClosed(5s));
  const auto status = gateway.process().waitExit(10s);
  ASSERT_TRUE(status.has_value()) << "still running after its last tunnel closed:\n"
                                  << gateway.process().stderrText();
  EXPECT_EQ(*status, 0);
}

TEST(TcpProxyTest, SigtermClosesATunnelStillOpenAtTheDrainDeadline) {
  TcpBackend echo;
  Gateway gateway;
  ASSERT_TRUE(
      startGateway(gateway, {{"DISCOVERY", staticList({echo.address()})}, {"DRAIN", "1000"}}));
  TcpClient tunnel;
  ASSERT_TRUE(tunnel.connect(gateway.port()));
  ASSERT_TRUE(tunnel.echoes("before"));
  const auto signalled = std::chrono::steady_clock::now();
  gateway.process().sendSignal(SIGTERM);
  EXPECT_TRUE(tunnel.echoes("kept while draining"));
  EXPECT_TRUE(tunnel.waitClosed(10s));
  EXPECT_GE(std::chrono::steady_clock::now() - signalled, 900ms);
  const auto status = gateway.process().waitExit(10s);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(*status, 0);
}

TEST(TcpProxyTest, MaxConnectionsRefusesTunnelsOverTheLimit) {
  TcpBackend echo;
  Gateway gateway;
  ASSERT_TRUE(
      startGateway(gateway, {{"DISCOVERY", staticList({echo.address()})}, {"MAX_CONNS", "2"}}));
  TcpClient first, second, third;
  ASSERT_TRUE(first.connect(gateway.port()));
  ASSERT_TRUE(first.echoes("1"));
  ASSERT_TRUE(second.connect(gateway.port()));
  ASSERT_TRUE(second.echoes("2"));
  ASSERT_TRUE(third.connect(gateway.port()));  // the kernel accepts; the gateway closes it
  EXPECT_TRUE(third.waitClosed(3s));
  EXPECT_EQ(echo.accepted(), 2u);
  first.close();
  EXPECT_TRUE(eventually(
      [&] {
        TcpClient again;
        return again.connect(gateway.port()) && again.echoes("again");
      },
      5s));
  EXPECT_TRUE(second.echoes("still"));
}

TEST(TcpProxyTest, AnInstanceAtItsConnectionLimitTakesNoMoreTunnels) {
  TcpBackend echo;
  Gateway gateway;
  ASSERT_TRUE(
      startGateway(gateway, {{"DISCOVERY", staticList({echo.address()})}, {"PER_INSTANCE", "1"}}));
  TcpClient first, second;
  ASSERT_TRUE(first.connect(gateway.port()));
  ASSERT_TRUE(first.echoes("1"));
  ASSERT_TRUE(second.connect(gateway.port()));
  EXPECT_TRUE(second.waitClosed(3s));
  EXPECT_EQ(echo.accepted(), 1u);
  EXPECT_EQ(metricSample(gateway.adminPort(),
                         "switchyard_errors_total{listener=\"tunnel\",cause=\"connection-limit\"}"),
            1);
  EXPECT_TRUE(first.echoes("still"));
}

}  // namespace
}  // namespace switchyard::support
