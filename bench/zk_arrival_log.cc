#include "bench/zk_arrival_log.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

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
