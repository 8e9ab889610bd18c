#include "routing/ring_hash.h"

#include "routing/effective_weight.h"

namespace switchyard::routing {

void RingHash::update(const ClusterSnapshot& snapshot) {
  usable_.update(snapshot.endpoints);
  const bool shared = snapshot.ring && snapshot.ring->builtFor() == snapshot.endpoints.size() &&
                      onlyWholeFactors(snapshot.endpoints);
  ring_ = shared ? snapshot.ring : HashRing::build(snapshot.endpoints);
}

int RingHash::pick(const PickContext& ctx, int exclude) {
  if (!ring_ || ring_->empty() || usable_.count() == 0) return -1;
  const size_t n = ring_->points();
  const size_t start =
      ctx.has_hash ? ring_->lookup(ctx.hash) : static_cast<size_t>(random_.below(n));
  // Clockwise past points this worker may not use.
  return usable_.walk(
      start, n, [&](size_t i) { return ring_->owner(i); }, exclude);
}

}  // namespace switchyard::routing
