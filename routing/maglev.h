#pragma once
// maglev: Google's Maglev consistent hashing (routing/maglev_table.h). A key goes to
// table[hash % size]: one memory access. When one of N endpoints leaves, its keys (about 1/N)
// move and a few percent of the others do too (the paper's "minimal disruption" trade for a
// perfectly even table). With no key, a random slot is taken (a pick by weight); `exclude` walks
// on to the next slot of another endpoint.
//
// The table is the snapshot's, built once by the control thread and shared by every worker;
// update() only notes which endpoints this worker may use. An endpoint the worker scaled to 0
// (ejected, unhealthy) keeps its slots and is walked past to the next slot, so no other key moves
// while it is out. Only while a weight factor is fractional (slow start), or for a snapshot
// without a table (tests), does update() build a table of its own. Worker thread only.

#include <cstdint>
#include <memory>
#include <vector>

#include "routing/load_balancer.h"
#include "routing/usable_endpoints.h"
#include "routing/maglev_table.h"

namespace switchyard::routing {

class Maglev final : public LoadBalancer {
 public:
  static constexpr uint32_t kTableSize = MaglevTable::kSize;

  explicit Maglev(Random& random) : random_(random) {}
  void update(const ClusterSnapshot& snapshot) override;
  int pick(const PickContext& ctx, int exclude = -1) override;

  // The table picks read: the snapshot's own (shared), or one built by this worker.
  const MaglevTable* table() const { return table_.get(); }

 private:
  Random& random_;  // the worker's
  std::shared_ptr<const MaglevTable> table_;
  UsableEndpoints usable_;  // effective weight above 0 in this worker's view
};

}  // namespace switchyard::routing
