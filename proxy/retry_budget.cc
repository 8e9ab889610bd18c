#include "proxy/retry_budget.h"

namespace switchyard::proxy {

RetryBudget::Bucket& RetryBudget::current(TimePoint now) {
  const int64_t second =
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  Bucket& b = buckets_[static_cast<size_t>(second) % kBuckets];
  if (b.second != second) b = Bucket{second, 0, 0};
  return b;
}

void RetryBudget::onRequest(TimePoint now) { ++current(now).requests; }

bool RetryBudget::tryRetry(TimePoint now) {
  Bucket& cur = current(now);
  const int64_t oldest = cur.second - static_cast<int64_t>(kBuckets) + 1;
  uint64_t requests = 0;
  uint64_t retries = 0;
  for (const auto& b : buckets_) {
    if (b.second < oldest || b.second > cur.second) continue;
    requests += b.requests;
    retries += b.retries;
  }
  const uint64_t allowed = requests * percent_ / 100 + uint64_t{kFloorPerSecond} * kBuckets;
  if (retries >= allowed) {
    ++exhausted_;
    return false;
  }
  ++cur.retries;
  return true;
}

}  // namespace switchyard::proxy
