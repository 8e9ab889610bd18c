// bench/zk_propagation: how fast a ServerSet change in ZooKeeper reaches every worker.
//
// A real ZooKeeper (tests/support/zookeeper_server.h), the switchyard binary with W workers and
// one serverset cluster of 3 instances, paced keep-alive load over several connections (so every
// worker carries traffic), and a fourth backend X. Repeated, alternating:
//   add:    a separate ZooKeeper client creates X's member (t0 just before the write); latency =
//           until X has received a request from every worker (and, beside it, the first one).
//   delete: the client deletes X's member (t0 just before); latency = arrival of the last request
//           X receives after t0, once X has been quiet for --quiet-ms.
// (bench/zk_change_probe.h; how requests are told apart by worker: WorkerGroups.)
// Prints a markdown table (p50, p99, max per kind, load errors, resolution). Measured, never
// asserted; exits 1 only when the setup fails or a change is not seen within --change-timeout-ms.
// Loopback only; the gateway and ZooKeeper are children stopped by PID (and die with this process).

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>
#include <thread>

#include "bench/zk_arrival_log.h"
#include "bench/zk_change_probe.h"
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
  const WorkerGroups workers = balanceClients(load, steady, Clock::now() + 15s);
  if (workers.groups != o.workers)
    return fail(
        fmt::format("the {} load clients fall into {} worker groups, not {} (a worker "
                    "without a client? try more --connections)",
                    workers.group_of.size(), workers.groups, o.workers));

  const std::string load_at_start = loadAverage();
  const uint64_t completed_before = load.completed();
  const auto started = Clock::now();
  auto figures = runChanges(writer, kSetPath, x.port(), arrivals, workers,
                            {.changes = o.changes,
                             .hold_ms = o.hold_ms,
                             .quiet_ms = o.quiet_ms,
                             .timeout_ms = o.change_timeout_ms},
                            [&] { return gateway.process().running(); });
  const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  const uint64_t completed = load.completed() - completed_before;
  load.stop();
  if (!figures) return fail(figures.error().message);

  if (!o.raw_out.empty()) {
    if (FILE* f = std::fopen(o.raw_out.c_str(), "w")) {
      std::fputs(figures->csv().c_str(), f);
      std::fclose(f);
    }
  }

  std::printf(
      "Command: `zk_propagation --changes %d --workers %d --connections %d --rate %.0f "
      "--quiet-ms %d`\n\n",
      o.changes, o.workers, o.connections, o.rate, o.quiet_ms);
  std::printf("%s\n", figures->table().c_str());
  std::printf(
      "Load: %d connections, %.0f req/s offered, %.0f req/s completed over %.1f s, %llu "
      "errors.\n",
      o.connections, o.rate, completed / seconds, seconds,
      static_cast<unsigned long long>(load.errors()));
  for (const auto& e : load.errorSamples()) std::printf("  error: %s\n", e.c_str());
  std::printf("Resolution: a worker that knows X routes to it %s.\n",
              workers.pickIntervals(4, o.rate).c_str());
  std::printf("Machine: %s at the start, %s at the end.\n", load_at_start.c_str(),
              loadAverage().c_str());
  std::printf(
      "Load clients per worker group: %s. Requests at X from an ungrouped client: %llu; "
      "deletes after which X got no request at all: %llu.\n",
      workers.describe().c_str(), static_cast<unsigned long long>(figures->ungrouped_arrivals),
      static_cast<unsigned long long>(figures->deletes_without_arrival));
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
