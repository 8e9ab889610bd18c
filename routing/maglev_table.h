#pragma once
// The lookup table of a maglev cluster, as a value: built once per cluster snapshot by the
// control thread (ClusterManager) and shared read-only by every worker's Maglev balancer (a
// 65,537-slot build is about 2 ms: once per change instead of once per worker).
//
// Google's Maglev consistent hashing (Eisenbud et al., NSDI 2016), weighted as Envoy does: the
// table, of a prime size far above any cluster's size, is filled by the endpoints in turn, each
// along its own permutation of the slots (offset and skip from a hash of its identity, so every
// worker and gateway builds the same table from the same set); a heavier endpoint takes a turn
// more often, so it owns slots in proportion to its weight. O(M log M) for M slots.

#include <cstdint>
#include <memory>
#include <vector>

#include "routing/cluster_snapshot.h"

namespace switchyard::routing {

class MaglevTable {
 public:
  static constexpr uint32_t kSize = 65537;  // prime

  // Slots for every endpoint whose effective weight (routing/effective_weight.h) is above 0.
  static std::shared_ptr<const MaglevTable> build(const std::vector<Endpoint>& endpoints);

  // How many endpoints the snapshot it was built from had: a view with another count is not
  // the one it indexes.
  size_t builtFor() const { return built_for_; }
  bool empty() const { return slots_.empty(); }
  size_t owners() const { return owners_; }  // distinct endpoints in the table
  // The endpoint index (in the snapshot it was built from) owning `slot` (< kSize).
  uint32_t owner(uint32_t slot) const { return slots_[slot]; }

 private:
  size_t built_for_ = 0;
  std::vector<uint32_t> slots_;  // empty when no endpoint takes traffic
  size_t owners_ = 0;
};

}  // namespace switchyard::routing
