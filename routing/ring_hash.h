#pragma once
// ring_hash: a Ketama-like consistent-hash ring. Each endpoint owns points on a 64-bit ring, as
// many as its weight asks: 160 per unit of weight (ketama's figure; 1.0 is a normal weight, so
// a set of 7 normal endpoints has over 1,024 points), halved only beyond 2^20 points; a key goes to the owner
// of the first point at or after its hash. When one of N endpoints leaves, only its own keys (about
// 1/N) move. With no key, a random point is taken (a pick by weight); `exclude` walks on to the
// next point of another endpoint.
//
// The lookup is O(1) on average: a bucket index on the hash's top bits narrows the search to
// about one point. update() rebuilds the ring (O(P log P) for P points), on the worker thread.

#include <cstdint>
#include <vector>

#include "routing/load_balancer.h"

namespace switchyard::routing {

class RingHash final : public LoadBalancer {
 public:
  explicit RingHash(Random& random) : random_(random) {}
  void update(const ClusterSnapshot& snapshot) override;
  int pick(const PickContext& ctx, int exclude = -1) override;

  size_t points() const { return hashes_.size(); }

  static constexpr double kPointsPerWeight = 160;
  static constexpr size_t kMaxPoints = size_t{1} << 20;

 private:
  size_t lookup(uint64_t hash) const;  // position of the first point at or after `hash`

  Random& random_;                // the worker's
  std::vector<uint64_t> hashes_;  // sorted ring positions
  std::vector<uint32_t> owners_;  // endpoint index of each point, parallel to hashes_
  std::vector<uint32_t> bucket_;  // bucket b -> first point whose top bits are >= b
  int shift_ = 64;                // hash >> shift_ is the bucket
  size_t endpoints_ = 0;          // distinct owners
};

}  // namespace switchyard::routing
