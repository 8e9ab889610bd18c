#include "routing/hash_ring.h"

#include <algorithm>
#include <bit>
#include <cmath>

#include "routing/effective_weight.h"
#include "routing/hash64.h"

namespace switchyard::routing {

std::shared_ptr<const HashRing> HashRing::build(const std::vector<Endpoint>& endpoints) {
  auto out = std::make_shared<HashRing>();
  HashRing& r = *out;
  r.built_for_ = endpoints.size();
  double total = 0;
  for (const auto& e : endpoints) total += effectiveWeight(e);
  if (total <= 0) return out;
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
  ring.reserve(static_cast<size_t>(total * scale) + endpoints.size());
  for (size_t i = 0; i < endpoints.size(); ++i) {
    const double w = effectiveWeight(endpoints[i]);
    if (w <= 0) continue;
    ++r.owners_count_;
    // Points derive from the endpoint's identity only, never from its position in the list.
    const uint64_t base = hashBytes(endpoints[i].id);
    const auto n = std::max<uint64_t>(1, static_cast<uint64_t>(std::llround(w * scale)));
    for (uint64_t k = 0; k < n; ++k)
      ring.push_back({mix64(base + (k + 1) * 0x9E3779B97F4A7C15ull), static_cast<uint32_t>(i)});
  }
  // Ties (vanishingly rare) are broken by owner, so every builder makes the same ring.
  std::sort(ring.begin(), ring.end(), [](const Point& a, const Point& b) {
    return a.hash < b.hash || (a.hash == b.hash && a.owner < b.owner);
  });
  r.hashes_.reserve(ring.size());
  r.owners_.reserve(ring.size());
  for (const auto& p : ring) {
    r.hashes_.push_back(p.hash);
    r.owners_.push_back(p.owner);
  }
  // About one point per bucket.
  const int bits = std::clamp(static_cast<int>(std::bit_width(ring.size())), 1, 20);
  r.shift_ = 64 - bits;
  const size_t buckets = size_t{1} << bits;
  r.bucket_.resize(buckets + 1);
  size_t j = 0;
  for (size_t b = 0; b <= buckets; ++b) {
    while (j < r.hashes_.size() && (r.hashes_[j] >> r.shift_) < b) ++j;
    r.bucket_[b] = static_cast<uint32_t>(j);
  }
  return out;
}

size_t HashRing::lookup(uint64_t hash) const {
  const size_t b = static_cast<size_t>(hash >> shift_);
  size_t i = bucket_[b];
  const size_t end = bucket_[b + 1];
  while (i < end && hashes_[i] < hash) ++i;
  return i == hashes_.size() ? 0 : i;
}

}  // namespace switchyard::routing
