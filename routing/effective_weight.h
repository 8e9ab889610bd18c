#pragma once
// The one place every policy reads an endpoint's weight from: the snapshot's weight (discovery's,
// times the operator's) scaled by the worker's weight_factor (outlier ejection, active health,
// slow start: proxy/cluster_runtime), so that every policy follows without change. 0 means no
// new traffic.

#include <cmath>
#include <vector>

#include "routing/cluster_snapshot.h"

namespace switchyard::routing {

inline double effectiveWeight(const Endpoint& endpoint) {
  const double w = endpoint.weight * endpoint.weight_factor;
  return std::isfinite(w) && w > 0 ? w : 0.0;
}

// Whether a ring or table the control thread built from the published weights (weight_factor 1)
// still routes as a worker's view asks: when the worker scaled no endpoint other than to 0 (an
// ejected or unhealthy endpoint is then skipped at pick time). A slow-start ramp's fractional
// factor changes the shares: the worker builds its own.
inline bool onlyWholeFactors(const std::vector<Endpoint>& endpoints) {
  for (const auto& e : endpoints)
    if (e.weight_factor != 1.0 && e.weight_factor != 0.0) return false;
  return true;
}

}  // namespace switchyard::routing
