#include "routing/ring_hash.h"

#include "routing/effective_weight.h"

namespace switchyard::routing {

void RingHash::update(const ClusterSnapshot& snapshot) {
  usable_.assign(snapshot.endpoints.size(), 0);
  usable_count_ = 0;
  for (size_t i = 0; i < snapshot.endpoints.size(); ++i)
    if (effectiveWeight(snapshot.endpoints[i]) > 0) {
      usable_[i] = 1;
      ++usable_count_;
    }
  const bool shared = snapshot.ring && snapshot.ring->builtFor() == snapshot.endpoints.size() &&
                      onlyWholeFactors(snapshot.endpoints);
  ring_ = shared ? snapshot.ring : HashRing::build(snapshot.endpoints);
}

int RingHash::pick(const PickContext& ctx, int exclude) {
  if (!ring_ || ring_->empty() || usable_count_ == 0) return -1;
  const size_t n = ring_->points();
  size_t i = ctx.has_hash ? ring_->lookup(ctx.hash) : static_cast<size_t>(random_.below(n));
  // Walk clockwise past points this worker may not use, and past the excluded endpoint when
  // another exists: where the key would go if they left the ring. Every usable endpoint owns a
  // point, so the walk ends within one turn.
  const bool skip_excluded = exclude >= 0 && static_cast<size_t>(exclude) < usable_.size() &&
                             !(usable_count_ == 1 && usable_[static_cast<size_t>(exclude)]);
  for (size_t steps = 0; steps < n; ++steps) {
    const uint32_t owner = ring_->owner(i);
    if (usable_[owner] && !(skip_excluded && static_cast<int>(owner) == exclude))
      return static_cast<int>(owner);
    i = i + 1 == n ? 0 : i + 1;
  }
  return -1;
}

}  // namespace switchyard::routing
