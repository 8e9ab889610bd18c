#pragma once
// The one place every policy reads an endpoint's weight from. Today it is the snapshot's weight
// (discovery's, times the operator's); outlier ejection and slow start (a later issue) scale it
// here, and every policy follows without change. 0 means no new traffic.

#include <cmath>

#include "routing/cluster_snapshot.h"

namespace switchyard::routing {

inline double effectiveWeight(const Endpoint& endpoint) {
  const double w = endpoint.weight;
  return std::isfinite(w) && w > 0 ? w : 0.0;
}

}  // namespace switchyard::routing
