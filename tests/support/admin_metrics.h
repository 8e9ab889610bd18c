#pragma once
// Reads one sample of a gateway's /metrics (Prometheus text), for tests that poll a counter.

#include <cstdint>
#include <string>

namespace switchyard::support {

// The value of the first sample line of /metrics on `admin_port` that starts with `prefix`
// (a name, or a name with the start of its labels: `foo_total{listener="web"}`); -1 when the
// page cannot be had or has no such line.
double metricSample(uint16_t admin_port, const std::string& prefix);

}  // namespace switchyard::support
