#pragma once
// weighted_round_robin: earliest deadline first. Each endpoint has a virtual deadline that
// advances by 1/weight each time it is picked; the earliest goes next. Over a cycle every
// endpoint gets exactly its share, and picks of one endpoint are spread out, not bunched (the
// scheme Envoy's EDF scheduler uses). O(log n) per pick, no allocation.

#include <cstdint>
#include <vector>

#include "routing/load_balancer.h"

namespace switchyard::routing {

class WeightedRoundRobin final : public LoadBalancer {
 public:
  void update(const ClusterSnapshot& snapshot) override;
  int pick(const PickContext& ctx, int exclude = -1) override;

 private:
  struct Entry {
    double deadline;
    double step;     // 1 / weight
    uint64_t order;  // tie-break: first come, first served
    int index;
  };
  static bool later(const Entry& a, const Entry& b) {
    // Bitwise, not short-circuit: the compiler can then avoid a hard-to-predict branch.
    return (a.deadline > b.deadline) | ((a.deadline == b.deadline) & (a.order > b.order));
  }
  void advance(Entry& e);
  void siftDown(size_t i);

  std::vector<Entry> heap_;  // a min-heap on (deadline, order)
  uint64_t order_ = 0;
};

}  // namespace switchyard::routing
