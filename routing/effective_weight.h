#pragma once
// The one place every policy reads an endpoint's weight from: the snapshot's weight (discovery's,
// times the operator's) scaled by the worker's weight_factor (outlier ejection, active health,
// slow start: proxy/cluster_runtime), so that every policy follows without change. 0 means no
// new traffic.

#include <cmath>

#include "routing/cluster_snapshot.h"

namespace switchyard::routing {

inline double effectiveWeight(const Endpoint& endpoint) {
  const double w = endpoint.weight * endpoint.weight_factor;
  return std::isfinite(w) && w > 0 ? w : 0.0;
}

}  // namespace switchyard::routing
