#pragma once
// The consistent-hash ring of a ring_hash cluster, as a value: built once per cluster snapshot by
// the control thread (ClusterManager) and shared read-only by every worker's RingHash balancer,
// so that a change of a large set costs one build, not one per worker (35 ms at 1,000 endpoints,
// bench/routing_bench), and the workers' picks stay lock-free reads of immutable memory.
//
// Ketama-like: each endpoint owns points on a 64-bit ring, as many as its weight asks: 160 per
// unit of weight (ketama's figure; 1.0 is a normal weight, so a set of 7 normal endpoints has
// over 1,024 points), halved only beyond 2^20 points. Points derive from the endpoint's identity
// only, so every worker and every gateway builds the same ring from the same set, and an endpoint
// leaving moves only its own keys. Building is O(P log P) for P points; a lookup is O(1) on
// average (a bucket index on the hash's top bits narrows the search to about one point).

#include <cstdint>
#include <memory>
#include <vector>

#include "routing/cluster_snapshot.h"

namespace switchyard::routing {

class HashRing {
 public:
  static constexpr double kPointsPerWeight = 160;
  static constexpr size_t kMaxPoints = size_t{1} << 20;

  // Points for every endpoint whose effective weight (routing/effective_weight.h) is above 0.
  static std::shared_ptr<const HashRing> build(const std::vector<Endpoint>& endpoints);

  // How many endpoints the snapshot it was built from had: a view with another count is not
  // the one it indexes.
  size_t builtFor() const { return built_for_; }
  bool empty() const { return hashes_.empty(); }
  size_t points() const { return hashes_.size(); }
  size_t owners() const { return owners_count_; }  // distinct endpoints on the ring
  // Position of the first point at or after `hash` (wrapping to 0).
  size_t lookup(uint64_t hash) const;
  // The endpoint index (in the snapshot it was built from) owning the point at `position`.
  uint32_t owner(size_t position) const { return owners_[position]; }

 private:
  size_t built_for_ = 0;
  std::vector<uint64_t> hashes_;  // sorted ring positions
  std::vector<uint32_t> owners_;  // endpoint index of each point, parallel to hashes_
  std::vector<uint32_t> bucket_;  // bucket b -> first point whose top bits are >= b
  int shift_ = 64;                // hash >> shift_ is the bucket
  size_t owners_count_ = 0;
};

}  // namespace switchyard::routing
