#include "routing/maglev.h"

#include "routing/effective_weight.h"

namespace switchyard::routing {

void Maglev::update(const ClusterSnapshot& snapshot) {
  usable_.assign(snapshot.endpoints.size(), 0);
  usable_count_ = 0;
  for (size_t i = 0; i < snapshot.endpoints.size(); ++i)
    if (effectiveWeight(snapshot.endpoints[i]) > 0) {
      usable_[i] = 1;
      ++usable_count_;
    }
  const bool shared = snapshot.maglev && snapshot.maglev->builtFor() == snapshot.endpoints.size() &&
                      onlyWholeFactors(snapshot.endpoints);
  table_ = shared ? snapshot.maglev : MaglevTable::build(snapshot.endpoints);
}

int Maglev::pick(const PickContext& ctx, int exclude) {
  if (!table_ || table_->empty() || usable_count_ == 0) return -1;
  uint32_t slot = ctx.has_hash ? static_cast<uint32_t>(ctx.hash % kTableSize)
                               : static_cast<uint32_t>(random_.below(kTableSize));
  // Every usable endpoint owns slots, so the walk ends within one turn.
  const bool skip_excluded = exclude >= 0 && static_cast<size_t>(exclude) < usable_.size() &&
                             !(usable_count_ == 1 && usable_[static_cast<size_t>(exclude)]);
  for (uint32_t steps = 0; steps < kTableSize; ++steps) {
    const uint32_t owner = table_->owner(slot);
    if (usable_[owner] && !(skip_excluded && static_cast<int>(owner) == exclude))
      return static_cast<int>(owner);
    slot = slot + 1 == kTableSize ? 0 : slot + 1;
  }
  return -1;
}

}  // namespace switchyard::routing
