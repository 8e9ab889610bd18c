// bench/zk_propagation: how fast a ServerSet change in ZooKeeper reaches every worker.
//
// A real ZooKeeper (tests/support/zookeeper_server.h), the switchyard binary with W workers and
// one serverset cluster of 3 instances, paced keep-alive load over several connections (so every
// worker carries traffic), and a fourth backend X. Repeated, alternating:
//   add:    a separate ZooKeeper client creates X's member (t0 just before the write); latency =
//           until X has received a request from every worker (and, beside it, from the first).
//           A request's worker is known from its load client (PacedLoad tags each request with
//           its client connection): before the changes, the clients are grouped by worker by
//           linking each client to the upstream connections its requests came through at the
//           three steady backends, since a worker's clients share that worker's upstream pool.
//   delete: the client deletes X's member (t0 just before); latency = arrival of the last request
//           X receives after t0, once X has been quiet for --quiet-ms.
// Prints a markdown table (p50, p99, max per kind, load errors, resolution). Measured, never
// asserted; exits 1 only when the setup fails or a change is not seen within --change-timeout-ms.
// Loopback only; the gateway and ZooKeeper are children stopped by PID (and die with this process).

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <map>
#include <memory>
#include <set>
#include <thread>

#include "bench/zk_arrival_log.h"
#include "bench/zk_paced_load.h"
#include "tests/support/gateway.h"
#include "tests/support/test_backend.h"
#include "tests/support/zk_test_client.h"
#include "tests/support/zookeeper_server.h"

namespace switchyard::bench {
namespace {

using namespace std::chrono_literals;
using support::ZkNodeMode;

constexpr const char* kConfig = R"(
zookeeper:
  servers: "${ZK}"
  session_timeout_ms: 10000
workers: ${WORKERS}
listeners:
  - name: web
    address: "127.0.0.1:${LISTEN}"
    protocol: http
    routes:
      - match: { path_prefix: "/" }
        cluster: web
clusters:
  - name: web
    discovery: { serverset: "/bench/web" }
    load_balancer: round_robin
admin:
  address: "127.0.0.1:${ADMIN}"
)";

constexpr const char* kSetPath = "/bench/web";

struct Options {
  int changes = 200;  // of each kind
  int workers = 2;
  int connections = 8;
  double rate = 4000;
  int quiet_ms = 300;
  int hold_ms = 100;
  int change_timeout_ms = 5000;
  std::string raw_out;  // CSV of every change, when given
};

int fail(const std::string& what) {
  std::fprintf(stderr, "zk_propagation: %s\n", what.c_str());
  return 1;
}

// Sleeps in small steps until pred() or the deadline; returns pred()'s last value.
// Groups the load clients by gateway worker (see the top comment): a client and an upstream
// connection are linked when a request of the client arrived through it; the connected groups of
// clients are the workers. Returns client -> group index (0-based) and sets *groups.
std::map<std::string, int> groupClientsByWorker(
    const std::vector<std::unique_ptr<support::TestBackend>>& backends, int* groups) {
  std::map<std::string, std::string> parent;
  auto find = [&](std::string k) {
    if (!parent.count(k)) parent[k] = k;
    while (parent[k] != k) k = parent[k] = parent[parent[k]];
    return k;
  };
  for (const auto& b : backends) {
    for (const auto& r : b->requests()) {
      std::string client = r.header(kClientHeader);
      if (client.empty()) continue;
      std::string a = find("c:" + client);
      std::string u = find(fmt::format("u:{}:{}", b->name(), r.connection_id));
      if (a != u) parent[a] = u;
    }
  }
  std::map<std::string, int> root_index;
  std::map<std::string, int> group_of;
  for (const auto& [key, unused] : std::map<std::string, std::string>(parent)) {
    if (key.rfind("c:", 0) != 0) continue;
    auto [it, inserted] = root_index.emplace(find(key), static_cast<int>(root_index.size()));
    group_of[key.substr(2)] = it->second;
  }
  *groups = static_cast<int>(root_index.size());
  return group_of;
}

std::string clientsPerGroup(const std::map<std::string, int>& worker_of, int groups) {
  std::vector<int> counts(static_cast<size_t>(groups), 0);
  for (const auto& [client, group] : worker_of) ++counts[static_cast<size_t>(group)];
  return fmt::format("{}", fmt::join(counts, " + "));
}

template <class Pred>
bool pollUntil(Clock::time_point deadline, Pred pred) {
  while (!pred()) {
    if (Clock::now() >= deadline) return pred();
    std::this_thread::sleep_for(200us);  // poll interval, not a wait for the result
  }
  return true;
}

int run(const Options& o) {
  support::ZooKeeperServer zk;
  if (auto r = zk.start(); !r) return fail(std::string("ZooKeeper: ") + r.message());
  support::ZkTestClient setup;
  support::ZkTestClient writer;  // the "separate client" whose writes are timed
  if (auto r = setup.connect(zk.connectString()); !r) return fail(r.message());
  if (auto r = writer.connect(zk.connectString()); !r) return fail(r.message());
  if (auto r = setup.createPath(kSetPath); !r) return fail(r.message());

  std::vector<std::unique_ptr<support::TestBackend>> steady;
  for (const char* name : {"a", "b", "c"}) {
    steady.push_back(std::make_unique<support::TestBackend>(name));
    auto created = setup.create(std::string(kSetPath) + "/member_",
                                serverSetMember("127.0.0.1", steady.back()->port()),
                                ZkNodeMode::kEphemeralSequential);
    if (!created) return fail(created.error().message);
  }
  support::TestBackend x("x");
  ArrivalLog arrivals(x);

  support::Gateway gateway;
  if (auto r = gateway.start(kConfig,
                             {{"ZK", zk.connectString()}, {"WORKERS", std::to_string(o.workers)}});
      !r)
    return fail(std::string("gateway: ") + r.message());

  PacedLoad load({.port = gateway.port(), .connections = o.connections, .rate = o.rate});
  load.start();
  std::this_thread::sleep_for(1s);  // warm-up: every client connected, every pool filled
  for (auto& b : steady)
    if (b->requestCount() == 0) return fail("backend " + b->name() + " got no request in warm-up");
  if (load.errors() > 0) return fail("load errors during warm-up: " + load.errorSamples().front());
  int groups = 0;
  const std::map<std::string, int> worker_of = groupClientsByWorker(steady, &groups);
  if (groups != o.workers)
    return fail(
        fmt::format("the {} load clients fall into {} worker groups, not {} (a worker "
                    "without a client? try more --connections)",
                    worker_of.size(), groups, o.workers));

  std::vector<double> add_ms, add_first_ms, delete_ms, add_write_ms, delete_write_ms;
  std::vector<std::string> raw;
  uint64_t unknown_clients = 0;  // arrivals at X from a client not grouped (a reconnection)
  uint64_t deletes_without_arrival = 0;
  const uint64_t completed_before = load.completed();
  const auto started = Clock::now();

  for (int i = 0; i < o.changes; ++i) {
    // add
    arrivals.clear();
    auto t0 = Clock::now();
    auto created =
        writer.create(std::string(kSetPath) + "/member_", serverSetMember("127.0.0.1", x.port()),
                      ZkNodeMode::kEphemeralSequential);
    auto acked = Clock::now();
    if (!created) return fail(created.error().message);
    Clock::time_point reached{}, first{};
    size_t seen_workers = 0;
    auto everyWorker = [&] {
      std::set<int> workers;
      auto after = arrivals.since(t0);
      if (!after.empty()) first = after.front().at;
      for (const auto& a : after) {
        auto w = worker_of.find(a.client);
        if (w == worker_of.end()) continue;
        workers.insert(w->second);
        if (workers.size() == static_cast<size_t>(o.workers)) {
          reached = a.at;
          return true;
        }
      }
      seen_workers = workers.size();
      return false;
    };
    if (!pollUntil(t0 + std::chrono::milliseconds(o.change_timeout_ms), everyWorker))
      return fail(fmt::format("change {}: X got requests from {} of {} workers within {} ms", i,
                              seen_workers, o.workers, o.change_timeout_ms));
    add_ms.push_back(msBetween(t0, reached));
    add_first_ms.push_back(msBetween(t0, first));
    add_write_ms.push_back(msBetween(t0, acked));
    std::this_thread::sleep_for(std::chrono::milliseconds(o.hold_ms));
    for (const auto& a : arrivals.since(t0))
      if (!worker_of.count(a.client)) ++unknown_clients;

    // delete
    arrivals.clear();
    t0 = Clock::now();
    if (auto r = writer.remove(*created); !r) return fail(r.message());
    acked = Clock::now();
    Clock::time_point last = t0;
    bool any = false;
    auto quiet = [&] {
      auto after = arrivals.since(t0);
      if (!after.empty()) {
        last = after.back().at;
        any = true;
      }
      return Clock::now() - std::max(last, t0) >= std::chrono::milliseconds(o.quiet_ms);
    };
    if (!pollUntil(t0 + std::chrono::milliseconds(o.change_timeout_ms), quiet))
      return fail(
          fmt::format("change {}: X still receives requests {} ms after its member was "
                      "deleted",
                      i, o.change_timeout_ms));
    if (!any) ++deletes_without_arrival;
    delete_ms.push_back(any ? msBetween(t0, last) : 0.0);
    delete_write_ms.push_back(msBetween(t0, acked));
    raw.push_back(fmt::format("{},{:.3f},{:.3f},{:.3f},{:.3f},{:.3f}", i, add_first_ms.back(),
                              add_ms.back(), add_write_ms.back(), delete_ms.back(),
                              delete_write_ms.back()));
    if (!gateway.process().running()) return fail("the gateway exited during the run");
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  const uint64_t completed = load.completed() - completed_before;
  load.stop();

  if (!o.raw_out.empty()) {
    if (FILE* f = std::fopen(o.raw_out.c_str(), "w")) {
      std::fputs(
          "change,add_first_ms,add_every_worker_ms,add_write_ack_ms,delete_ms,delete_write_ack_"
          "ms\n",
          f);
      for (const auto& line : raw) std::fprintf(f, "%s\n", line.c_str());
      std::fclose(f);
    }
  }

  // With R req/s over W workers and 4 instances round robin, a worker routes to X about every
  // 4W/R s once it knows X: the add figure includes up to that much waiting for a pick.
  const double pick_ms = 4.0 * o.workers / o.rate * 1000.0;
  std::printf(
      "Command: `zk_propagation --changes %d --workers %d --connections %d --rate %.0f "
      "--quiet-ms %d`\n\n",
      o.changes, o.workers, o.connections, o.rate, o.quiet_ms);
  std::printf("| change | count | p50 | p99 | max |\n|---|--:|--:|--:|--:|\n");
  std::printf("| add: first request to X | %s |\n", latencyCells(add_first_ms).c_str());
  std::printf("| add: X routed by every worker | %s |\n", latencyCells(add_ms).c_str());
  std::printf("| delete: last request to X | %s |\n", latencyCells(delete_ms).c_str());
  std::printf("| (ZooKeeper create acknowledged) | %s |\n", latencyCells(add_write_ms).c_str());
  std::printf("| (ZooKeeper delete acknowledged) | %s |\n\n",
              latencyCells(delete_write_ms).c_str());
  std::printf(
      "Load: %d connections, %.0f req/s offered, %.0f req/s completed over %.1f s, %llu "
      "errors.\n",
      o.connections, o.rate, completed / seconds, seconds,
      static_cast<unsigned long long>(load.errors()));
  for (const auto& e : load.errorSamples()) std::printf("  error: %s\n", e.c_str());
  std::printf("Resolution: a worker that knows X routes to it about every 4W/R = %.1f ms.\n",
              pick_ms);
  std::printf(
      "Load clients per worker group: %s. Requests at X from an ungrouped client: %llu; "
      "deletes after which X got no request at all: %llu.\n",
      clientsPerGroup(worker_of, groups).c_str(), static_cast<unsigned long long>(unknown_clients),
      static_cast<unsigned long long>(deletes_without_arrival));
  return load.errors() == 0 ? 0 : 2;
}

}  // namespace
}  // namespace switchyard::bench

int main(int argc, char** argv) {
  switchyard::bench::Options o;
  CLI::App app{"ZooKeeper ServerSet change -> every worker: propagation latency"};
  app.add_option("--changes", o.changes, "changes of each kind (add, delete)");
  app.add_option("--workers", o.workers, "gateway workers");
  app.add_option("--connections", o.connections, "load connections (one thread each)");
  app.add_option("--rate", o.rate, "offered load, req/s in total");
  app.add_option("--quiet-ms", o.quiet_ms, "after a delete, X quiet this long = done");
  app.add_option("--hold-ms", o.hold_ms, "after an add was seen, wait this long before deleting");
  app.add_option("--change-timeout-ms", o.change_timeout_ms, "a change not seen by then fails");
  app.add_option("--raw", o.raw_out, "write every change's figures as CSV to this file");
  CLI11_PARSE(app, argc, argv);
  return switchyard::bench::run(o);
}
