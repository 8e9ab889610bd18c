#pragma once
// The end of one request, whatever carried it (Http1Session, UpstreamRequest): its figures in
// the listener's stats and its access-log line. Worker thread only.

#include "common/time_source.h"
#include "proxy/access_log.h"

namespace switchyard::proxy {

class Worker;
struct ListenerStats;

// Counts `record.status` and the time since `started` (Clock) in `stats`, fills
// record.duration_us and appends the line to the worker's access log, if any.
void countRequest(Worker& worker, ListenerStats& stats, AccessRecord& record, TimePoint started);

}  // namespace switchyard::proxy
