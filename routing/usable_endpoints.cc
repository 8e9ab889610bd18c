#include "routing/usable_endpoints.h"

#include "routing/effective_weight.h"

namespace switchyard::routing {

void UsableEndpoints::update(const std::vector<Endpoint>& endpoints) {
  usable_.assign(endpoints.size(), 0);
  count_ = 0;
  for (size_t i = 0; i < endpoints.size(); ++i)
    if (effectiveWeight(endpoints[i]) > 0) {
      usable_[i] = 1;
      ++count_;
    }
}

}  // namespace switchyard::routing
