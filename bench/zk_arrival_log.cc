#include "bench/zk_arrival_log.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "bench/zk_paced_load.h"

namespace switchyard::bench {

ArrivalLog::ArrivalLog(support::TestBackend& backend) : backend_(backend) {
  arrivals_.reserve(1 << 16);
  backend_.setHandler([this](const support::BackendRequest& request) {
    Arrival a{Clock::now(), request.connection_id, request.header(kClientHeader)};
    {
      std::lock_guard lock(mutex_);
      arrivals_.push_back(std::move(a));
    }
    return support::BackendBehavior::fixed();
  });
}

ArrivalLog::~ArrivalLog() { backend_.setBehavior(support::BackendBehavior::fixed()); }

std::vector<ArrivalLog::Arrival> ArrivalLog::since(Clock::time_point t0) const {
  std::lock_guard lock(mutex_);
  auto first = std::lower_bound(arrivals_.begin(), arrivals_.end(), t0,
                                [](const Arrival& a, Clock::time_point t) { return a.at < t; });
  return {first, arrivals_.end()};
}

void ArrivalLog::clear() {
  std::lock_guard lock(mutex_);
  arrivals_.clear();
}

WorkerGroups WorkerGroups::fromBackends(
    const std::vector<std::unique_ptr<support::TestBackend>>& backends,
    const std::vector<std::string>& current) {
  // Union-find over "c:CLIENT" and "u:BACKEND:CONNECTION" keys.
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
      std::string c = find("c:" + client);
      std::string u = find(fmt::format("u:{}:{}", b->name(), r.connection_id));
      if (c != u) parent[c] = u;
    }
  }
  WorkerGroups w;
  std::map<std::string, int> root_index;
  for (const auto& tag : current) {
    if (tag.empty() || !parent.count("c:" + tag)) continue;
    auto [it, inserted] = root_index.emplace(find("c:" + tag), static_cast<int>(root_index.size()));
    w.group_of[tag] = it->second;
  }
  w.groups = static_cast<int>(root_index.size());
  return w;
}

std::vector<int> WorkerGroups::counts() const {
  std::vector<int> c(static_cast<size_t>(groups), 0);
  for (const auto& [client, group] : group_of) ++c[static_cast<size_t>(group)];
  return c;
}

std::string WorkerGroups::describe() const { return fmt::format("{}", fmt::join(counts(), " + ")); }

std::string WorkerGroups::pickIntervals(int instances, double rate) const {
  std::vector<int> counts = this->counts();
  if (counts.empty()) return "unknown";
  auto [lo, hi] = std::minmax_element(counts.begin(), counts.end());
  const double clients = static_cast<double>(group_of.size());
  auto ms = [&](int k) { return instances * clients / (k * rate) * 1000.0; };
  if (*lo == *hi) return fmt::format("every {:.1f} ms ({} clients each)", ms(*lo), *lo);
  return fmt::format("every {:.1f} ms ({} clients) to {:.1f} ms ({} clients)", ms(*hi), *hi,
                     ms(*lo), *lo);
}

std::string loadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return fmt::format("load average {} {} {}", a, b, c);
}

namespace {
void pollPause() {
  std::this_thread::sleep_for(std::chrono::microseconds(200));  // poll interval, not a wait
}
}  // namespace

std::optional<AddSeen> waitForEveryWorker(const ArrivalLog& log, Clock::time_point t0,
                                          const WorkerGroups& workers, Clock::time_point deadline,
                                          size_t* seen_groups) {
  for (;;) {
    const bool last_try = Clock::now() >= deadline;
    auto after = log.since(t0);
    std::set<int> seen;
    for (const auto& a : after) {
      auto w = workers.group_of.find(a.client);
      if (w == workers.group_of.end()) continue;
      seen.insert(w->second);
      if (seen.size() == static_cast<size_t>(workers.groups))
        return AddSeen{after.front().at, a.at};
    }
    *seen_groups = seen.size();
    if (last_try) return std::nullopt;
    pollPause();
  }
}

std::optional<Clock::time_point> waitForQuiet(const ArrivalLog& log, Clock::time_point t0,
                                              Clock::duration quiet, Clock::time_point deadline,
                                              bool* timed_out) {
  *timed_out = false;
  for (;;) {
    auto after = log.since(t0);
    Clock::time_point last = after.empty() ? t0 : after.back().at;
    if (Clock::now() - last >= quiet) {
      if (after.empty()) return std::nullopt;
      return last;
    }
    if (Clock::now() >= deadline) {
      *timed_out = true;
      return std::nullopt;
    }
    pollPause();
  }
}

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  auto rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(values.size())));
  return values[std::clamp<size_t>(rank, 1, values.size()) - 1];
}

double msBetween(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

std::string serverSetMember(const std::string& host, uint16_t port) {
  nlohmann::json j = {{"serviceEndpoint", {{"host", host}, {"port", port}}},
                      {"additionalEndpoints", nlohmann::json::object()},
                      {"status", "ALIVE"}};
  return j.dump();
}

std::string latencyCells(const std::vector<double>& ms) {
  return fmt::format("{} | {:.2f} ms | {:.2f} ms | {:.2f} ms", ms.size(), percentile(ms, 50),
                     percentile(ms, 99),
                     ms.empty() ? 0.0 : *std::max_element(ms.begin(), ms.end()));
}

}  // namespace switchyard::bench
