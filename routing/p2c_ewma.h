#pragma once
// p2c_ewma: the power of two choices on peak-EWMA latency times in-flight requests, as Finagle's
// and Linkerd's balancers do. Two distinct candidates are drawn by weight; each costs
// latency_estimate * (in_flight / weight + 1), and the cheaper wins (the first drawn on a tie).
// Weights act twice: a heavier endpoint is drawn more often, and its in-flight requests count
// for less; idle endpoints of equal latency therefore share exactly by weight. An endpoint with no
// latency sample yet costs 0 while it has nothing in flight and a large penalty while it has: it is
// tried at once, but not flooded before its first answer. The estimate is routing/endpoint_load.h's
// peak EWMA, stamped with the worker's injected TimeSource when sampled; comparing two needs no
// clock (see cheaper()). O(1) per pick.

#include "routing/load_balancer.h"
#include "routing/weighted_sampler.h"

namespace switchyard::routing {

class P2cEwma final : public LoadBalancer {
 public:
  explicit P2cEwma(Random& random) : random_(random) {}
  void update(const ClusterSnapshot& snapshot) override;
  int pick(const PickContext& ctx, int exclude = -1) override;

  // The cost of one endpoint at `now`, as pick() compares them.
  static double cost(const EndpointLoad& load, double weight, TimePoint now);
  // cost(b) < cost(a) at any common now (the decay to now is a common factor).
  static bool cheaper(const EndpointLoad& b, double wb, const EndpointLoad& a, double wa);

 private:
  Random& random_;  // the worker's
  WeightedSampler sampler_;
};

}  // namespace switchyard::routing
