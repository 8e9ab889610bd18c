#pragma once
// maglev: Google's Maglev consistent hashing (Eisenbud et al., NSDI 2016), weighted as Envoy
// does. A lookup table of a prime size (65,537) is filled by the endpoints in turn, each along its
// own permutation of the slots (offset and skip from a hash of its identity); a heavier endpoint
// takes a turn more often, so it owns slots in proportion to its weight. A key goes to
// table[hash % size]: one memory access. When one of N endpoints leaves, its keys (about 1/N)
// move and a few percent of the others do too (the paper's "minimal disruption" trade for a
// perfectly even table). With no key, a random slot is taken (a pick by weight); `exclude` walks
// on to the next slot of another endpoint.
//
// update() rebuilds the table (O(M log M) for M slots), on the worker thread.

#include <cstdint>
#include <vector>

#include "routing/load_balancer.h"

namespace switchyard::routing {

class Maglev final : public LoadBalancer {
 public:
  static constexpr uint32_t kTableSize = 65537;  // prime, far above any cluster's size

  explicit Maglev(Random& random) : random_(random) {}
  void update(const ClusterSnapshot& snapshot) override;
  int pick(const PickContext& ctx, int exclude = -1) override;

 private:
  Random& random_;               // the worker's
  std::vector<uint32_t> table_;  // slot -> endpoint index; empty when no endpoint takes traffic
  size_t endpoints_ = 0;
};

}  // namespace switchyard::routing
