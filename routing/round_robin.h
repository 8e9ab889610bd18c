#pragma once
// round_robin: every endpoint with a weight above 0 in turn, weights otherwise ignored.

#include <vector>

#include "routing/load_balancer.h"

namespace switchyard::routing {

class RoundRobin final : public LoadBalancer {
 public:
  void update(const ClusterSnapshot& snapshot) override;
  int pick(const PickContext& ctx, int exclude = -1) override;

 private:
  std::vector<int> eligible_;  // indices of endpoints with weight > 0
  size_t next_ = 0;
};

}  // namespace switchyard::routing
