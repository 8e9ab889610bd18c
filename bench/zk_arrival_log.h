#pragma once
// What the ZooKeeper benchmarks measure at an instance: the arrival time (steady clock, taken in
// the backend's handler as soon as a request head is read), the upstream connection id and the
// load client (PacedLoad's x-bench-client) of every request a TestBackend receives. It answers
// every request 200. Helpers to summarise latencies and to write ServerSet members sit beside it.
// Threads: record() runs on the backend's thread; the rest on the benchmark's thread.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/test_backend.h"

namespace switchyard::bench {

using Clock = std::chrono::steady_clock;

class ArrivalLog {
 public:
  struct Arrival {
    Clock::time_point at;
    uint64_t connection_id;  // 1-based, in the backend's accept order
    std::string client;      // x-bench-client: "INDEX.GENERATION" of the load client
  };

  // Installs the recording handler on `backend` (which must outlive this log).
  explicit ArrivalLog(support::TestBackend& backend);
  ~ArrivalLog();
  ArrivalLog(const ArrivalLog&) = delete;
  ArrivalLog& operator=(const ArrivalLog&) = delete;

  // Arrivals at or after t0, in arrival order.
  std::vector<Arrival> since(Clock::time_point t0) const;
  // Forgets every arrival (between changes, so the log stays small).
  void clear();

 private:
  support::TestBackend& backend_;
  mutable std::mutex mutex_;
  std::vector<Arrival> arrivals_;
};

// Which gateway worker each load client (PacedLoad) is on. The gateway does not say, but a
// worker's client connections share that worker's upstream pool: linking each client to the
// upstream connections its requests came through (at backends that got steady traffic) splits
// the clients into one connected group per worker.
struct WorkerGroups {
  std::map<std::string, int> group_of;  // x-bench-client value -> group, 0-based
  int groups = 0;

  // Only the clients in `current` (PacedLoad::currentTags) are placed; older tags still link.
  static WorkerGroups fromBackends(
      const std::vector<std::unique_ptr<support::TestBackend>>& backends,
      const std::vector<std::string>& current);
  // Clients per group, in group order.
  std::vector<int> counts() const;
  // "6 + 2": clients per group.
  std::string describe() const;
  // The measurement's resolution: with `rate` req/s spread evenly over the clients, a worker with
  // k of them routes to X (round robin over `instances`, X included) every instances * clients /
  // (k * rate) seconds. "every 2.0 ms (6 clients) to 6.0 ms (2 clients)".
  std::string pickIntervals(int instances, double rate) const;
};

// After an add at t0: when X got its first request, and when it had got one from every worker.
struct AddSeen {
  Clock::time_point first;
  Clock::time_point every_worker;
};
// Polls the log until X got a request from a client of every group, or the deadline; nullopt
// then, with the number of groups seen in *seen_groups.
std::optional<AddSeen> waitForEveryWorker(const ArrivalLog& log, Clock::time_point t0,
                                          const WorkerGroups& workers, Clock::time_point deadline,
                                          size_t* seen_groups);
// After a delete at t0: polls until X has been quiet for `quiet`; the last arrival after t0
// (nullopt when there was none; *timed_out when still not quiet at the deadline).
std::optional<Clock::time_point> waitForQuiet(const ArrivalLog& log, Clock::time_point t0,
                                              Clock::duration quiet, Clock::time_point deadline,
                                              bool* timed_out);

// "load average 1.23 0.98 0.75" from /proc/loadavg: how busy the shared machine was.
std::string loadAverage();

// Nearest-rank percentile (p in [0, 100]) of values; 0 when empty.
double percentile(std::vector<double> values, double p);
// Milliseconds between two time points, as a double.
double msBetween(Clock::time_point from, Clock::time_point to);
// A ServerSet member as Aurora writes it (serviceEndpoint, no additional endpoints, ALIVE).
std::string serverSetMember(const std::string& host, uint16_t port);
// "p50 / p99 / max" row cells in ms with 2 decimals, and the count.
std::string latencyCells(const std::vector<double>& ms);

}  // namespace switchyard::bench
