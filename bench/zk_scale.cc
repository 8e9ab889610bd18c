// bench/zk_scale: a gateway watching many ServerSets.
//
// Writes --sets ServerSets of --members members each into a real ZooKeeper (asynchronous C API,
// before the gateway starts), plus a small probe set; generates a config with one cluster per
// set and one Host route per cluster (Host "s123" -> cluster s123, the probe's route last), then
// measures:
//   - ready: from spawning the switchyard binary to GET /ready = 200 (polled every 25 ms by
//     SwitchyardProcess), over --starts starts, and the gateway's CPU time until then;
//   - memory: VmRSS and VmHWM of the gateway once ready (and again after the changes);
//   - a change while all are watched: the probe set ("probe", --probe-members real backends)
//     under paced load on its Host route, and the change loop of bench/zk_change_probe.h (add X:
//     first request to X and X routed by every worker; delete X: last request to X).
// The probe set is small on purpose: round robin over N instances reaches X only every N picks
// of a worker, and with 20 members that wait (~10 ms at 4,000 req/s) would swamp the figure.
// Every member of the --sets sets points at a 127.0.0.1 port where nothing listens: those
// clusters get no traffic. Prints a markdown report. Measured, never asserted. Loopback only;
// the children are stopped by PID.

#include <fmt/format.h>
#include <unistd.h>
#include <zookeeper/zookeeper.h>

#include <CLI/CLI.hpp>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>

#include "bench/zk_arrival_log.h"
#include "bench/zk_change_probe.h"
#include "bench/zk_paced_load.h"
#include "tests/support/free_port.h"
#include "tests/support/switchyard_process.h"
#include "tests/support/test_backend.h"
#include "tests/support/zk_test_client.h"
#include "tests/support/zookeeper_server.h"

namespace switchyard::bench {
namespace {

using namespace std::chrono_literals;
using support::ZkNodeMode;

constexpr const char* kRoot = "/bench/scale";

struct Options {
  int sets = 1000;
  int members = 20;
  int workers = 2;
  int starts = 3;
  int changes = 200;
  int probe_members = 3;
  int connections = 8;
  double rate = 4000;
  int quiet_ms = 300;
  int hold_ms = 100;
  int ready_timeout_s = 60;
};

int fail(const std::string& what) {
  // A failed start's message carries the whole generated config: keep its tail (stderr).
  constexpr size_t kTail = 4000;
  std::string text = what.size() > kTail ? "..." + what.substr(what.size() - kTail) : what;
  std::fprintf(stderr, "zk_scale: %s\n", text.c_str());
  return 1;
}

// Sets 0 .. sets-1 are "sN"; set number `sets` is the probe.
std::string setName(const Options& o, int i) {
  return i == o.sets ? "probe" : "s" + std::to_string(i);
}

// Creates many persistent nodes with zoo_acreate, at most `window` in flight. ZooKeeper answers a
// session's requests in order, so a parent created before its children is there when they come.
class BulkWriter {
 public:
  ~BulkWriter() {
    if (zh_) zookeeper_close(zh_);
  }

  bool connect(const std::string& servers) {
    zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
    zh_ = zookeeper_init(servers.c_str(), &BulkWriter::watcher, 30000, nullptr, this, 0);
    if (!zh_) return false;
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, 10s, [&] { return connected_; });
  }

  void create(const std::string& path, const std::string& data) {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return in_flight_ < kWindow; });
    ++in_flight_;
    lock.unlock();
    int rc = zoo_acreate(zh_, path.c_str(), data.data(), static_cast<int>(data.size()),
                         &ZOO_OPEN_ACL_UNSAFE, 0, &BulkWriter::created, this);
    if (rc != ZOK) finish(rc);
  }

  // Waits until every create was answered; the first error, or empty.
  std::string wait() {
    std::unique_lock lock(mutex_);
    if (!changed_.wait_for(lock, 300s, [&] { return in_flight_ == 0; }))
      return "creates not answered within 300 s";
    return error_;
  }

 private:
  static constexpr int kWindow = 2000;

  static void watcher(zhandle_t*, int type, int state, const char*, void* context) {
    auto* self = static_cast<BulkWriter*>(context);
    if (type == ZOO_SESSION_EVENT && state == ZOO_CONNECTED_STATE) {
      std::lock_guard lock(self->mutex_);
      self->connected_ = true;
      self->changed_.notify_all();
    }
  }
  static void created(int rc, const char*, const void* data) {
    const_cast<BulkWriter*>(static_cast<const BulkWriter*>(data))->finish(rc);
  }
  void finish(int rc) {
    std::lock_guard lock(mutex_);
    if (rc != ZOK && error_.empty()) error_ = std::string("create: ") + zerror(rc);
    --in_flight_;
    changed_.notify_all();
  }

  zhandle_t* zh_ = nullptr;
  std::mutex mutex_;
  std::condition_variable changed_;
  bool connected_ = false;
  int in_flight_ = 0;
  std::string error_;
};

std::string makeConfig(const Options& o) {
  std::string c =
      "zookeeper:\n  servers: \"${ZK}\"\n  session_timeout_ms: 10000\n"
      "workers: " +
      std::to_string(o.workers) +
      "\n"
      "listeners:\n  - name: web\n    address: \"127.0.0.1:${LISTEN}\"\n    protocol: http\n"
      "    routes:\n";
  for (int i = 0; i <= o.sets; ++i)
    c += fmt::format("      - match: {{ host: \"{0}\" }}\n        cluster: {0}\n", setName(o, i));
  c += "clusters:\n";
  for (int i = 0; i <= o.sets; ++i)
    c += fmt::format(
        "  - name: {0}\n    discovery: {{ serverset: \"{1}/{0}\" }}\n    load_balancer: "
        "round_robin\n",
        setName(o, i), kRoot);
  c += "admin:\n  address: \"127.0.0.1:${ADMIN}\"\n";
  return c;
}

// utime + stime of a process (its threads included), in ms; -1 when unreadable.
double cpuMs(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto close = text.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream fields(text.substr(close + 2));
  std::string f;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && fields >> f; ++i) {
    if (i == 14) utime = std::stoull(f);
    if (i == 15) stime = std::stoull(f);
  }
  return static_cast<double>(utime + stime) * 1000.0 / static_cast<double>(sysconf(_SC_CLK_TCK));
}

struct StartFigures {
  double ready_ms;
  double cpu_ms;
  long rss_kb;
  long hwm_kb;
};

int run(const Options& o) {
  support::ZooKeeperServer zk;
  if (auto r = zk.start(); !r) return fail(std::string("ZooKeeper: ") + r.message());
  support::ZkTestClient writer;  // the separate client whose changes are timed
  if (auto r = writer.connect(zk.connectString()); !r) return fail(r.message());
  if (auto r = writer.createPath(kRoot); !r) return fail(r.message());

  std::vector<std::unique_ptr<support::TestBackend>> probe_members;
  for (int m = 0; m < o.probe_members; ++m)
    probe_members.push_back(std::make_unique<support::TestBackend>("p" + std::to_string(m)));
  support::TestBackend x("x");
  ArrivalLog arrivals(x);
  const std::string probe_path = std::string(kRoot) + "/probe";

  const std::string load_at_start = loadAverage();
  auto write_start = Clock::now();
  {
    BulkWriter bulk;
    if (!bulk.connect(zk.connectString())) return fail("bulk writer: no ZooKeeper session");
    for (int s = 0; s <= o.sets; ++s) {
      const std::string path = std::string(kRoot) + "/" + setName(o, s);
      bulk.create(path, "");
      const int members = s == o.sets ? o.probe_members : o.members;
      for (int m = 0; m < members; ++m) {
        uint16_t port = s == o.sets ? probe_members[m]->port()
                                    : static_cast<uint16_t>(20000 + (s * o.members + m) % 40000);
        bulk.create(fmt::format("{}/member_{:010d}", path, m), serverSetMember("127.0.0.1", port));
      }
    }
    if (auto e = bulk.wait(); !e.empty()) return fail(e);
  }
  const double write_ms = msBetween(write_start, Clock::now());
  std::fprintf(stderr, "zk_scale: %d member znodes written in %.0f ms\n", o.sets * o.members,
               write_ms);

  const std::string config = makeConfig(o);
  std::vector<StartFigures> starts;
  std::unique_ptr<support::SwitchyardProcess> gateway;
  uint16_t listen_port = 0;
  for (int s = 0; s < o.starts; ++s) {
    if (gateway) {
      gateway->sendSignal(SIGTERM);
      if (!gateway->waitExit(30s)) return fail("the gateway did not exit within 30 s of SIGTERM");
    }
    listen_port = support::freeLoopbackPort();
    uint16_t admin_port = support::freeLoopbackPort();
    gateway = std::make_unique<support::SwitchyardProcess>(
        support::fillTemplate(config, {{"ZK", zk.connectString()},
                                       {"LISTEN", std::to_string(listen_port)},
                                       {"ADMIN", std::to_string(admin_port)}}),
        admin_port);
    auto t0 = Clock::now();
    if (auto r = gateway->start(std::chrono::seconds(o.ready_timeout_s)); !r)
      return fail(std::string("gateway: ") + r.message());
    starts.push_back({msBetween(t0, Clock::now()), cpuMs(gateway->pid()), gateway->vmRssKb(),
                      gateway->vmHwmKb()});
    std::fprintf(stderr, "zk_scale: start %d ready in %.0f ms\n", s + 1, starts.back().ready_ms);
  }

  PacedLoad load(
      {.port = listen_port, .host = "probe", .connections = o.connections, .rate = o.rate});
  load.start();
  std::this_thread::sleep_for(1s);  // warm-up: every client connected, every pool filled
  for (auto& b : probe_members)
    if (b->requestCount() == 0) return fail("probe member " + b->name() + " got no request");
  if (load.errors() > 0) return fail("load errors during warm-up: " + load.errorSamples().front());
  const WorkerGroups workers = balanceClients(load, probe_members, Clock::now() + 15s);
  if (workers.groups != o.workers)
    return fail(fmt::format("the {} load clients fall into {} worker groups, not {}",
                            workers.group_of.size(), workers.groups, o.workers));
  auto figures = runChanges(
      writer, probe_path, x.port(), arrivals, workers,
      {.changes = o.changes, .hold_ms = o.hold_ms, .quiet_ms = o.quiet_ms, .timeout_ms = 5000},
      [&] { return gateway->running(); });
  load.stop();
  if (!figures) return fail(figures.error().message);
  const long rss_after = gateway->vmRssKb(), hwm_after = gateway->vmHwmKb();
  gateway->sendSignal(SIGTERM);
  gateway->waitExit(30s);

  std::printf(
      "Command: `zk_scale --sets %d --members %d --workers %d --starts %d --changes %d "
      "--probe-members %d --connections %d --rate %.0f`\n\n",
      o.sets, o.members, o.workers, o.starts, o.changes, o.probe_members, o.connections, o.rate);
  std::printf(
      "ZooKeeper: %d sets x %d members = %d member znodes, and the probe set of %d, written "
      "in %.0f ms (async creates).\n\n",
      o.sets, o.members, o.sets * o.members, o.probe_members, write_ms);
  std::printf(
      "| start | spawn -> /ready 200 | gateway CPU | VmRSS | VmHWM |\n"
      "|--:|--:|--:|--:|--:|\n");
  for (size_t i = 0; i < starts.size(); ++i)
    std::printf("| %zu | %.0f ms | %.0f ms | %.1f MB | %.1f MB |\n", i + 1, starts[i].ready_ms,
                starts[i].cpu_ms, starts[i].rss_kb / 1024.0, starts[i].hwm_kb / 1024.0);
  std::printf("\nAfter the changes: VmRSS %.1f MB, VmHWM %.1f MB.\n\n", rss_after / 1024.0,
              hwm_after / 1024.0);
  std::printf("Change in the probe set (%d members + X) while all %d sets are watched:\n\n%s\n",
              o.probe_members, o.sets + 1, figures->table().c_str());
  std::printf("Load on Host probe: %d connections, %.0f req/s, %llu errors.\n", o.connections,
              o.rate, static_cast<unsigned long long>(load.errors()));
  for (const auto& e : load.errorSamples()) std::printf("  error: %s\n", e.c_str());
  std::printf(
      "Resolution: a worker that knows X routes to it %s. Load clients per worker group: %s.\n",
      workers.pickIntervals(o.probe_members + 1, o.rate).c_str(), workers.describe().c_str());
  std::printf("Machine: %s at the start, %s at the end.\n", load_at_start.c_str(),
              loadAverage().c_str());
  return load.errors() == 0 ? 0 : 2;
}

}  // namespace
}  // namespace switchyard::bench

int main(int argc, char** argv) {
  switchyard::bench::Options o;
  CLI::App app{"Many ServerSets: time to /ready, memory, one change applied"};
  app.add_option("--sets", o.sets, "ServerSets (one cluster and one Host route each)");
  app.add_option("--members", o.members, "members per set");
  app.add_option("--workers", o.workers, "gateway workers");
  app.add_option("--starts", o.starts, "gateway starts measured (the last one serves the changes)");
  app.add_option("--changes", o.changes, "member adds (each followed by its delete)");
  app.add_option("--probe-members", o.probe_members, "members of the probe set (real backends)");
  app.add_option("--connections", o.connections, "load connections (one thread each)");
  app.add_option("--rate", o.rate, "offered load on the probe set, req/s in total");
  app.add_option("--hold-ms", o.hold_ms, "after an add was seen, wait this long before deleting");
  app.add_option("--quiet-ms", o.quiet_ms, "after a delete, X quiet this long = done");
  app.add_option("--ready-timeout-s", o.ready_timeout_s, "give up on /ready after this");
  CLI11_PARSE(app, argc, argv);
  if (o.sets < 0 || o.members < 1 || o.starts < 1 || o.probe_members < 1) {
    std::fprintf(stderr,
                 "zk_scale: --members, --starts and --probe-members must be at least 1, --sets "
                 "at least 0\n");
    return 2;
  }
  return switchyard::bench::run(o);
}
