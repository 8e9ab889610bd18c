#pragma once
// The extension point for load-balancing policies. One instance per worker per cluster: its
// state is the worker's own, so pick() needs no lock and no atomic.

#include <cstdint>
#include <memory>
#include <span>

#include "common/random.h"
#include "common/time_source.h"
#include "config/config.h"
#include "routing/cluster_snapshot.h"

namespace switchyard::routing {

// Live per-endpoint figures kept by the worker, parallel to ClusterSnapshot::endpoints.
struct EndpointLoad {
  uint32_t in_flight = 0;
  double ewma_latency_us = 0;
};

struct PickContext {
  std::span<const EndpointLoad> load;  // empty when the worker keeps none
  uint64_t hash = 0;                   // key hash for ring_hash / maglev
  bool has_hash = false;
};

class LoadBalancer {
 public:
  virtual ~LoadBalancer() = default;

  // Worker thread. The snapshot changed: rebuild, keeping state of surviving endpoints where it
  // matters. The snapshot outlives the next update() call.
  virtual void update(const ClusterSnapshot& snapshot) = 0;

  // Worker thread. Index into the snapshot's endpoints, or -1 when no endpoint can take traffic
  // (none, or every weight is 0). `exclude` (or -1) is skipped when another endpoint exists:
  // retries use it to avoid the endpoint that just failed.
  virtual int pick(const PickContext& ctx, int exclude = -1) = 0;
};

// The policy factory: a plain function, no registry.
std::unique_ptr<LoadBalancer> makeLoadBalancer(config::LoadBalancerKind kind, Random& random,
                                               const TimeSource& time);

}  // namespace switchyard::routing
