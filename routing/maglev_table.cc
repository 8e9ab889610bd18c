#include "routing/maglev_table.h"

#include <algorithm>

#include "routing/effective_weight.h"
#include "routing/hash64.h"

namespace switchyard::routing {

namespace {
constexpr uint32_t kEmpty = UINT32_MAX;
}  // namespace

std::shared_ptr<const MaglevTable> MaglevTable::build(const std::vector<Endpoint>& endpoints) {
  auto out = std::make_shared<MaglevTable>();
  out->built_for_ = endpoints.size();
  struct Filler {
    uint32_t index;  // endpoint index in the snapshot
    uint64_t next;   // next slot of its permutation
    uint64_t skip;
    double weight;     // normalized: the heaviest is 1
    double turns = 0;  // turns taken so far
  };
  std::vector<Filler> fillers;
  double heaviest = 0;
  for (const auto& e : endpoints) heaviest = std::max(heaviest, effectiveWeight(e));
  if (heaviest <= 0) return out;
  for (size_t i = 0; i < endpoints.size(); ++i) {
    const double w = effectiveWeight(endpoints[i]);
    if (w <= 0) continue;
    const uint64_t h = hashBytes(endpoints[i].id);
    const uint64_t h2 = mix64(h ^ 0x2545F4914F6CDD1Dull);
    fillers.push_back({static_cast<uint32_t>(i), h % kSize, h2 % (kSize - 1) + 1, w / heaviest});
  }
  out->owners_ = fillers.size();
  std::vector<uint32_t>& table = out->slots_;
  table.assign(kSize, kEmpty);
  uint32_t filled = 0;
  // In round r an endpoint of normalized weight w takes a turn while turns <= r * w: the
  // heaviest every round, one of a third of its weight every third round.
  for (uint64_t round = 1; filled < kSize; ++round) {
    for (auto& f : fillers) {
      if (static_cast<double>(round) * f.weight < f.turns) continue;
      f.turns += 1.0;
      while (table[f.next] != kEmpty) f.next = (f.next + f.skip) % kSize;
      table[f.next] = f.index;
      f.next = (f.next + f.skip) % kSize;
      if (++filled == kSize) break;
    }
  }
  return out;
}

}  // namespace switchyard::routing
