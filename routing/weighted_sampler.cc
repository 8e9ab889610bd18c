#include "routing/weighted_sampler.h"

#include "routing/effective_weight.h"

namespace switchyard::routing {

void WeightedSampler::build(const ClusterSnapshot& snapshot) {
  eligible_.clear();
  slots_.clear();
  weight_.assign(snapshot.endpoints.size(), 0.0);
  double total = 0;
  for (size_t i = 0; i < snapshot.endpoints.size(); ++i) {
    const double w = effectiveWeight(snapshot.endpoints[i]);
    if (w <= 0) continue;
    weight_[i] = w;
    eligible_.push_back(static_cast<int>(i));
    total += w;
  }
  const size_t n = eligible_.size();
  if (n == 0) return;
  // Vose: scale weights so that their mean is 1, then pair each light slot with a heavy one.
  std::vector<double> scaled(n);
  std::vector<uint32_t> small, large;
  for (size_t p = 0; p < n; ++p) {
    scaled[p] = weight_[static_cast<size_t>(eligible_[p])] * static_cast<double>(n) / total;
    (scaled[p] < 1.0 ? small : large).push_back(static_cast<uint32_t>(p));
  }
  constexpr double kOne = 4294967296.0;  // 2^32
  slots_.assign(n, Slot{static_cast<uint64_t>(kOne), 0});
  while (!small.empty() && !large.empty()) {
    const uint32_t s = small.back();
    small.pop_back();
    const uint32_t l = large.back();
    slots_[s] = Slot{static_cast<uint64_t>(scaled[s] * kOne), l};
    scaled[l] -= 1.0 - scaled[s];
    if (scaled[l] < 1.0) {
      large.pop_back();
      small.push_back(l);
    }
  }
  // What is left is 1 up to rounding: those slots always keep themselves (the default above).
}

size_t WeightedSampler::drawPosition(Random& random) const {
  const uint64_t u = random.next();
  // High 32 bits choose the slot (multiply-shift), low 32 bits toss its coin.
  const size_t p = static_cast<size_t>(((u >> 32) * eligible_.size()) >> 32);
  return (u & 0xffffffffu) < slots_[p].threshold ? p : slots_[p].alias;
}

int WeightedSampler::draw(Random& random, int avoid_a, int avoid_b) const {
  const size_t n = eligible_.size();
  size_t p = drawPosition(random);
  // A draw that hits an endpoint to avoid is redrawn (unbiased) a few times; should the avoided
  // ones hold nearly all the weight, the next candidates are taken instead.
  for (int redraw = 0; redraw < 4 && n > 1; ++redraw) {
    const int e = eligible_[p];
    if (e != avoid_a && e != avoid_b) return e;
    p = drawPosition(random);
  }
  for (int step = 0; step < 2 && n > 1; ++step) {
    const int e = eligible_[p];
    if (e != avoid_a && e != avoid_b) break;
    p = p + 1 == n ? 0 : p + 1;
  }
  return eligible_[p];
}

}  // namespace switchyard::routing
