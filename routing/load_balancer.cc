#include "routing/load_balancer.h"

#include "routing/least_request.h"
#include "routing/maglev.h"
#include "routing/p2c_ewma.h"
#include "routing/ring_hash.h"
#include "routing/round_robin.h"
#include "routing/weighted_round_robin.h"

namespace switchyard::routing {

std::unique_ptr<LoadBalancer> makeLoadBalancer(config::LoadBalancerKind kind, Random& random,
                                               const TimeSource&) {
  switch (kind) {
    case config::LoadBalancerKind::kRoundRobin:
      return std::make_unique<RoundRobin>();
    case config::LoadBalancerKind::kWeightedRoundRobin:
      return std::make_unique<WeightedRoundRobin>();
    case config::LoadBalancerKind::kLeastRequest:
      return std::make_unique<LeastRequest>(random);
    case config::LoadBalancerKind::kP2cEwma:
      return std::make_unique<P2cEwma>(random);
    case config::LoadBalancerKind::kRingHash:
      return std::make_unique<RingHash>(random);
    case config::LoadBalancerKind::kMaglev:
      return std::make_unique<Maglev>(random);
  }
  return std::make_unique<RoundRobin>();  // unreachable: every kind is handled above
}

}  // namespace switchyard::routing
