#pragma once
// least_request: the power of two choices on in-flight requests, as Envoy's LEAST_REQUEST does.
// Two distinct candidates are drawn by weight; the one with fewer in-flight requests per unit of
// weight (in_flight / weight) wins, the first drawn on a tie. Idle, it therefore follows the
// weights exactly; loaded, in-flight requests settle in proportion to the weights, and an
// endpoint that holds requests longer (slow, stuck) gets fewer new ones. O(1) per pick.

#include "routing/load_balancer.h"
#include "routing/weighted_sampler.h"

namespace switchyard::routing {

class LeastRequest final : public LoadBalancer {
 public:
  explicit LeastRequest(Random& random) : random_(random) {}
  void update(const ClusterSnapshot& snapshot) override;
  int pick(const PickContext& ctx, int exclude = -1) override;

 private:
  Random& random_;  // the worker's
  WeightedSampler sampler_;
};

}  // namespace switchyard::routing
