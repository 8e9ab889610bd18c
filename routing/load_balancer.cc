#include "routing/load_balancer.h"

#include <spdlog/spdlog.h>

#include "routing/round_robin.h"
#include "routing/weighted_round_robin.h"

namespace switchyard::routing {

std::unique_ptr<LoadBalancer> makeLoadBalancer(config::LoadBalancerKind kind, Random&,
                                               const TimeSource&) {
  switch (kind) {
    case config::LoadBalancerKind::kRoundRobin:
      return std::make_unique<RoundRobin>();
    case config::LoadBalancerKind::kWeightedRoundRobin:
      return std::make_unique<WeightedRoundRobin>();
    default:
      // least_request, p2c_ewma, ring_hash and maglev arrive with the load-balancing issue;
      // until then they balance by weight, and say so once per cluster runtime.
      spdlog::warn("load_balancer {} is not built yet; using weighted_round_robin",
                   config::toString(kind));
      return std::make_unique<WeightedRoundRobin>();
  }
}

}  // namespace switchyard::routing
