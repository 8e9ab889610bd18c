#include "bench/zk_change_probe.h"

#include <fmt/format.h>

#include <algorithm>
#include <thread>

namespace switchyard::bench {

std::string ChangeFigures::table() const {
  std::string t = "| change | count | p50 | p99 | max |\n|---|--:|--:|--:|--:|\n";
  t += fmt::format("| add: first request to X | {} |\n", latencyCells(add_first_ms));
  t += fmt::format("| add: X routed by every worker | {} |\n", latencyCells(add_every_worker_ms));
  t += fmt::format("| delete: last request to X | {} |\n", latencyCells(delete_last_ms));
  t += fmt::format("| (ZooKeeper create acknowledged) | {} |\n", latencyCells(add_ack_ms));
  t += fmt::format("| (ZooKeeper delete acknowledged) | {} |\n", latencyCells(delete_ack_ms));
  // ZooKeeper sends the watch event when it commits, about when it acknowledges the write: what
  // comes after the acknowledgement is roughly the gateway's share (reads, decode, apply, pick).
  std::vector<double> add_after_ack, delete_after_ack;
  for (size_t i = 0; i < add_ack_ms.size() && i < add_every_worker_ms.size(); ++i)
    add_after_ack.push_back(add_every_worker_ms[i] - add_ack_ms[i]);
  for (size_t i = 0; i < delete_ack_ms.size() && i < delete_last_ms.size(); ++i)
    delete_after_ack.push_back(delete_last_ms[i] - delete_ack_ms[i]);
  t += fmt::format("| (add, every worker, minus the create's ack) | {} |\n",
                   latencyCells(add_after_ack));
  t += fmt::format("| (delete, last request, minus the delete's ack) | {} |\n",
                   latencyCells(delete_after_ack));
  return t;
}

std::string ChangeFigures::csv() const {
  std::string c =
      "change,add_first_ms,add_every_worker_ms,add_ack_ms,delete_last_ms,delete_ack_ms\n";
  for (size_t i = 0; i < delete_last_ms.size(); ++i)
    c += fmt::format("{},{:.3f},{:.3f},{:.3f},{:.3f},{:.3f}\n", i, add_first_ms[i],
                     add_every_worker_ms[i], add_ack_ms[i], delete_last_ms[i], delete_ack_ms[i]);
  return c;
}

WorkerGroups balanceClients(PacedLoad& load,
                            const std::vector<std::unique_ptr<support::TestBackend>>& backends,
                            Clock::time_point deadline) {
  for (;;) {
    const std::vector<std::string> tags = load.currentTags();
    WorkerGroups w = WorkerGroups::fromBackends(backends, tags);
    std::vector<int> counts = w.counts();
    if (counts.empty() || Clock::now() >= deadline) return w;
    auto [lo, hi] = std::minmax_element(counts.begin(), counts.end());
    if (*hi - *lo <= 1 && w.group_of.size() == tags.size()) return w;
    const int largest = static_cast<int>(hi - counts.begin());
    for (size_t i = 0; i < tags.size(); ++i) {
      auto g = w.group_of.find(tags[i]);
      if (g != w.group_of.end() && g->second == largest) {
        load.reconnect(static_cast<int>(i));
        break;
      }
    }
    // Long enough for the new connection's requests to reach every backend a few times.
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
}

Result<ChangeFigures> runChanges(support::ZkTestClient& writer, const std::string& set_path,
                                 uint16_t x_port, ArrivalLog& arrivals, const WorkerGroups& workers,
                                 const ChangeProbeOptions& options,
                                 const std::function<bool()>& alive) {
  ChangeFigures f;
  const auto timeout = std::chrono::milliseconds(options.timeout_ms);
  const std::string member = serverSetMember("127.0.0.1", x_port);
  for (int i = 0; i < options.changes; ++i) {
    arrivals.clear();
    auto t0 = Clock::now();
    auto created =
        writer.create(set_path + "/member_", member, support::ZkNodeMode::kEphemeralSequential);
    auto acked = Clock::now();
    if (!created) return makeError("create: " + created.error().message);
    size_t seen = 0;
    auto add = waitForEveryWorker(arrivals, t0, workers, t0 + timeout, &seen);
    if (!add)
      return makeError(fmt::format("change {}: X got requests from {} of {} workers within {} ms",
                                   i, seen, workers.groups, options.timeout_ms));
    f.add_first_ms.push_back(msBetween(t0, add->first));
    f.add_every_worker_ms.push_back(msBetween(t0, add->every_worker));
    f.add_ack_ms.push_back(msBetween(t0, acked));
    std::this_thread::sleep_for(std::chrono::milliseconds(options.hold_ms));
    for (const auto& a : arrivals.since(t0))
      if (!workers.group_of.count(a.client)) ++f.ungrouped_arrivals;

    arrivals.clear();
    t0 = Clock::now();
    if (auto r = writer.remove(*created); !r) return makeError(r.message());
    acked = Clock::now();
    bool timed_out = false;
    auto last = waitForQuiet(arrivals, t0, std::chrono::milliseconds(options.quiet_ms),
                             t0 + timeout, &timed_out);
    if (timed_out)
      return makeError(
          fmt::format("change {}: X still receives requests {} ms after its member "
                      "was deleted",
                      i, options.timeout_ms));
    if (!last) ++f.deletes_without_arrival;
    f.delete_last_ms.push_back(last ? msBetween(t0, *last) : 0.0);
    f.delete_ack_ms.push_back(msBetween(t0, acked));
    if (!alive()) return makeError(fmt::format("change {}: the gateway is not running", i));
  }
  return f;
}

}  // namespace switchyard::bench
