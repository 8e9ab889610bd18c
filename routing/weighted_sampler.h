#pragma once
// Draws an endpoint with probability proportional to its effective weight in O(1) (Vose's alias
// method), for the power-of-two-choices policies. Built on update(), read on every pick. Worker
// thread only.

#include <cstdint>
#include <vector>

#include "common/random.h"
#include "routing/cluster_snapshot.h"

namespace switchyard::routing {

class WeightedSampler {
 public:
  // Endpoints with an effective weight above 0 become candidates.
  void build(const ClusterSnapshot& snapshot);

  bool empty() const { return eligible_.empty(); }
  size_t size() const { return eligible_.size(); }
  int only() const { return eligible_.front(); }
  // The effective weight of an endpoint (by snapshot index), 0 if it is not a candidate.
  double weight(int endpoint) const { return weight_[static_cast<size_t>(endpoint)]; }

  // A candidate, by weight, that is neither `avoid_a` nor `avoid_b` when the candidates allow.
  int draw(Random& random, int avoid_a = -1, int avoid_b = -1) const;

 private:
  size_t drawPosition(Random& random) const;  // a position in eligible_, by weight

  struct Slot {
    uint64_t threshold;  // keep this slot when the low 32 random bits are below it (2^32 = always)
    uint32_t alias;      // else take this position
  };
  std::vector<int> eligible_;   // snapshot indices of the candidates
  std::vector<Slot> slots_;     // parallel to eligible_
  std::vector<double> weight_;  // by snapshot index
};

}  // namespace switchyard::routing
