#include "routing/round_robin.h"

#include "routing/effective_weight.h"

namespace switchyard::routing {

void RoundRobin::update(const ClusterSnapshot& snapshot) {
  eligible_.clear();
  for (size_t i = 0; i < snapshot.endpoints.size(); ++i)
    if (effectiveWeight(snapshot.endpoints[i]) > 0) eligible_.push_back(static_cast<int>(i));
  // Keep the position so that a change of the set does not send a burst to the first endpoint.
  if (!eligible_.empty()) next_ %= eligible_.size();
}

int RoundRobin::pick(const PickContext&, int exclude) {
  if (eligible_.empty()) return -1;
  int chosen = eligible_[next_];
  next_ = next_ + 1 == eligible_.size() ? 0 : next_ + 1;
  if (chosen == exclude && eligible_.size() > 1) {
    chosen = eligible_[next_];
    next_ = next_ + 1 == eligible_.size() ? 0 : next_ + 1;
  }
  return chosen;
}

}  // namespace switchyard::routing
