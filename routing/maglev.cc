#include "routing/maglev.h"

#include <algorithm>

#include "routing/effective_weight.h"
#include "routing/hash64.h"

namespace switchyard::routing {

namespace {
constexpr uint32_t kEmpty = UINT32_MAX;
}  // namespace

void Maglev::update(const ClusterSnapshot& snapshot) {
  table_.clear();
  endpoints_ = 0;
  struct Filler {
    uint32_t index;  // endpoint index in the snapshot
    uint64_t next;   // next slot of its permutation
    uint64_t skip;
    double weight;     // normalized: the heaviest is 1
    double turns = 0;  // turns taken so far
  };
  std::vector<Filler> fillers;
  double heaviest = 0;
  for (const auto& e : snapshot.endpoints) heaviest = std::max(heaviest, effectiveWeight(e));
  if (heaviest <= 0) return;
  for (size_t i = 0; i < snapshot.endpoints.size(); ++i) {
    const double w = effectiveWeight(snapshot.endpoints[i]);
    if (w <= 0) continue;
    // Offset and skip come from the endpoint's identity, so every worker and every gateway
    // builds the same table from the same set.
    const uint64_t h = hashBytes(snapshot.endpoints[i].id);
    const uint64_t h2 = mix64(h ^ 0x2545F4914F6CDD1Dull);
    fillers.push_back(
        {static_cast<uint32_t>(i), h % kTableSize, h2 % (kTableSize - 1) + 1, w / heaviest});
  }
  endpoints_ = fillers.size();
  table_.assign(kTableSize, kEmpty);
  uint32_t filled = 0;
  // In round r an endpoint of normalized weight w takes a turn while turns <= r * w: the
  // heaviest every round, one of a third of its weight every third round.
  for (uint64_t round = 1; filled < kTableSize; ++round) {
    for (auto& f : fillers) {
      if (static_cast<double>(round) * f.weight < f.turns) continue;
      f.turns += 1.0;
      while (table_[f.next] != kEmpty) f.next = (f.next + f.skip) % kTableSize;
      table_[f.next] = f.index;
      f.next = (f.next + f.skip) % kTableSize;
      if (++filled == kTableSize) break;
    }
  }
}

int Maglev::pick(const PickContext& ctx, int exclude) {
  if (table_.empty()) return -1;
  uint32_t slot = ctx.has_hash ? static_cast<uint32_t>(ctx.hash % kTableSize)
                               : static_cast<uint32_t>(random_.below(kTableSize));
  if (static_cast<int>(table_[slot]) == exclude && endpoints_ > 1) {
    do {
      slot = slot + 1 == kTableSize ? 0 : slot + 1;
    } while (static_cast<int>(table_[slot]) == exclude);
  }
  return static_cast<int>(table_[slot]);
}

}  // namespace switchyard::routing
