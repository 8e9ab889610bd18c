#pragma once
// ring_hash: consistent hashing on a Ketama-like ring (routing/hash_ring.h). A key goes to the
// owner of the first point at or after its hash; when one of N endpoints leaves, only its own
// keys (about 1/N) move. With no key, a random point is taken (a pick by weight); `exclude` walks
// on to the next point of another endpoint.
//
// The ring is the snapshot's, built once by the control thread and shared by every worker;
// update() only notes which endpoints this worker may use. An endpoint the worker scaled to 0
// (ejected, unhealthy) keeps its points and is walked past, which sends its keys exactly where a
// ring without it would. Only while a weight factor is fractional (slow start), or for a snapshot
// without a ring (tests), does update() build a ring of its own. Worker thread only.

#include <cstdint>
#include <memory>
#include <vector>

#include "routing/hash_ring.h"
#include "routing/load_balancer.h"
#include "routing/usable_endpoints.h"

namespace switchyard::routing {

class RingHash final : public LoadBalancer {
 public:
  explicit RingHash(Random& random) : random_(random) {}
  void update(const ClusterSnapshot& snapshot) override;
  int pick(const PickContext& ctx, int exclude = -1) override;

  size_t points() const { return ring_ ? ring_->points() : 0; }
  // The ring picks read: the snapshot's own (shared), or one built by this worker.
  const HashRing* ring() const { return ring_.get(); }

  static constexpr double kPointsPerWeight = HashRing::kPointsPerWeight;
  static constexpr size_t kMaxPoints = HashRing::kMaxPoints;

 private:
  Random& random_;  // the worker's
  std::shared_ptr<const HashRing> ring_;
  UsableEndpoints usable_;  // effective weight above 0 in this worker's view
};

}  // namespace switchyard::routing
