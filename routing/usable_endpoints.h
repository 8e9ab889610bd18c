#pragma once
// The consistent-hash policies' (ring_hash, maglev) view of which endpoints a key may land on
// in this worker: those whose effective weight is above 0 (not ejected, drained or unhealthy
// here), and the walk from a key's position past the ones it may not use. Both policies share
// the positions' table (built once per snapshot) and differ only in how a key finds its start.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "routing/cluster_snapshot.h"

namespace switchyard::routing {

class UsableEndpoints {
 public:
  void update(const std::vector<Endpoint>& endpoints);
  size_t count() const { return count_; }

  // From position `start` of `n` (wrapping), the first owner (`owner_at(position)`) this view
  // may use, past `exclude` when another usable endpoint exists: where the key would go if they
  // left the table. Every usable endpoint owns a position, so the walk ends within one turn;
  // -1 when none is usable.
  template <class OwnerAt>
  int walk(size_t start, size_t n, OwnerAt owner_at, int exclude) const {
    const bool skip_excluded = exclude >= 0 && static_cast<size_t>(exclude) < usable_.size() &&
                               !(count_ == 1 && usable_[static_cast<size_t>(exclude)]);
    size_t i = start;
    for (size_t steps = 0; steps < n; ++steps) {
      const uint32_t owner = owner_at(i);
      if (usable_[owner] && !(skip_excluded && static_cast<int>(owner) == exclude))
        return static_cast<int>(owner);
      i = i + 1 == n ? 0 : i + 1;
    }
    return -1;
  }

 private:
  std::vector<char> usable_;  // by endpoint index
  size_t count_ = 0;
};

}  // namespace switchyard::routing
