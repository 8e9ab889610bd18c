#include "routing/maglev.h"

#include "routing/effective_weight.h"

namespace switchyard::routing {

void Maglev::update(const ClusterSnapshot& snapshot) {
  usable_.update(snapshot.endpoints);
  const bool shared = snapshot.maglev && snapshot.maglev->builtFor() == snapshot.endpoints.size() &&
                      onlyWholeFactors(snapshot.endpoints);
  table_ = shared ? snapshot.maglev : MaglevTable::build(snapshot.endpoints);
}

int Maglev::pick(const PickContext& ctx, int exclude) {
  if (!table_ || table_->empty() || usable_.count() == 0) return -1;
  const size_t start = ctx.has_hash ? static_cast<size_t>(ctx.hash % kTableSize)
                                    : static_cast<size_t>(random_.below(kTableSize));
  return usable_.walk(
      start, kTableSize, [&](size_t slot) { return table_->owner(static_cast<uint32_t>(slot)); },
      exclude);
}

}  // namespace switchyard::routing
