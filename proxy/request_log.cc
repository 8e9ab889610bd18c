#include "proxy/request_log.h"

#include "proxy/stats.h"
#include "proxy/worker.h"

namespace switchyard::proxy {

void countRequest(Worker& worker, ListenerStats& stats, AccessRecord& record, TimePoint started) {
  const auto elapsed =
      std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started);
  record.duration_us = static_cast<uint64_t>(elapsed.count());
  stats.requests.add(record.status);
  stats.latency.observeMicros(record.duration_us);
  if (auto* log = worker.accessLog()) log->append(record);
}

}  // namespace switchyard::proxy
