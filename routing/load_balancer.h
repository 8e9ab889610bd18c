#pragma once
// The extension point for load-balancing policies. One instance per worker per cluster: its
// state is the worker's own, so pick() needs no lock and no atomic.
//
// Every policy reads an endpoint's weight through effectiveWeight() (routing/effective_weight.h):
// weight 0 gets no new traffic; ejection and slow start will act there.

#include <cstdint>
#include <memory>
#include <span>

#include "common/random.h"
#include "common/time_source.h"
#include "config/config.h"
#include "routing/cluster_snapshot.h"
#include "routing/endpoint_load.h"

namespace switchyard::routing {

struct PickContext {
  // The worker's live figures, parallel to ClusterSnapshot::endpoints: one pointer per endpoint
  // (into the worker's UpstreamHost, which outlives a snapshot swap). Empty when the worker
  // keeps none; least_request and p2c_ewma then pick by weight alone.
  std::span<const EndpointLoad* const> load;
  uint64_t hash = 0;      // key hash for ring_hash / maglev (routing/hash_key.h)
  bool has_hash = false;  // false: no key in this request; hashing policies pick by weight
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

// The policy factory: a plain function, no registry. `random` and `time` are the worker's and
// outlive the balancer.
std::unique_ptr<LoadBalancer> makeLoadBalancer(config::LoadBalancerKind kind, Random& random,
                                               const TimeSource& time);

}  // namespace switchyard::routing
