#include "routing/ring_hash.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <numeric>

#include "routing/effective_weight.h"
#include "routing/hash64.h"

namespace switchyard::routing {

void RingHash::update(const ClusterSnapshot& snapshot) {
  hashes_.clear();
  owners_.clear();
  bucket_.clear();
  endpoints_ = 0;
  double total = 0;
  for (const auto& e : snapshot.endpoints) total += effectiveWeight(e);
  if (total <= 0) return;
  // Points per unit of weight: fixed (not scaled to a minimum ring size as Envoy's
  // min_ring_size does), so that an endpoint leaving changes nobody else's points. Scaling to a
  // minimum moves keys between endpoints that stayed: doubling the points of a 6-endpoint ring
  // moved 31% of the keys needlessly. Only an absurd total (over 2^20 points) is halved.
  double scale = kPointsPerWeight;
  while (total * scale > kMaxPoints) scale /= 2;

  struct Point {
    uint64_t hash;
    uint32_t owner;
  };
  std::vector<Point> ring;
  ring.reserve(static_cast<size_t>(total * scale) + snapshot.endpoints.size());
  for (size_t i = 0; i < snapshot.endpoints.size(); ++i) {
    const double w = effectiveWeight(snapshot.endpoints[i]);
    if (w <= 0) continue;
    ++endpoints_;
    // Points derive from the endpoint's identity only, never from its position in the list.
    const uint64_t base = hashBytes(snapshot.endpoints[i].id);
    const auto n = std::max<uint64_t>(1, static_cast<uint64_t>(std::llround(w * scale)));
    for (uint64_t k = 0; k < n; ++k)
      ring.push_back({mix64(base + (k + 1) * 0x9E3779B97F4A7C15ull), static_cast<uint32_t>(i)});
  }
  // Ties (vanishingly rare) are broken by owner, so every worker builds the same ring.
  std::sort(ring.begin(), ring.end(), [](const Point& a, const Point& b) {
    return a.hash < b.hash || (a.hash == b.hash && a.owner < b.owner);
  });
  hashes_.reserve(ring.size());
  owners_.reserve(ring.size());
  for (const auto& p : ring) {
    hashes_.push_back(p.hash);
    owners_.push_back(p.owner);
  }
  // About one point per bucket.
  const int bits = std::clamp(static_cast<int>(std::bit_width(ring.size())), 1, 20);
  shift_ = 64 - bits;
  const size_t buckets = size_t{1} << bits;
  bucket_.resize(buckets + 1);
  size_t j = 0;
  for (size_t b = 0; b <= buckets; ++b) {
    while (j < hashes_.size() && (hashes_[j] >> shift_) < b) ++j;
    bucket_[b] = static_cast<uint32_t>(j);
  }
}

size_t RingHash::lookup(uint64_t hash) const {
  const size_t b = static_cast<size_t>(hash >> shift_);
  size_t i = bucket_[b];
  const size_t end = bucket_[b + 1];
  while (i < end && hashes_[i] < hash) ++i;
  return i == hashes_.size() ? 0 : i;
}

int RingHash::pick(const PickContext& ctx, int exclude) {
  const size_t n = hashes_.size();
  if (n == 0) return -1;
  size_t i = ctx.has_hash ? lookup(ctx.hash) : static_cast<size_t>(random_.below(n));
  if (static_cast<int>(owners_[i]) == exclude && endpoints_ > 1) {
    // The next point clockwise that another endpoint owns: where this key would go if the
    // excluded endpoint left the ring.
    do {
      i = i + 1 == n ? 0 : i + 1;
    } while (static_cast<int>(owners_[i]) == exclude);
  }
  return static_cast<int>(owners_[i]);
}

}  // namespace switchyard::routing
