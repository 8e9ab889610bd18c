#pragma once
// Injected randomness: a small fast generator (xorshift128+) with an explicit seed, so that
// load-balancer and split tests are deterministic. Not for anything security-related.

#include <cstdint>

namespace switchyard {

class Random {
 public:
  explicit Random(uint64_t seed = 0x9E3779B97F4A7C15ull) { reseed(seed); }

  void reseed(uint64_t seed) {
    s0_ = splitmix(seed);
    s1_ = splitmix(seed);
  }

  uint64_t next() {
    uint64_t x = s0_;
    const uint64_t y = s1_;
    s0_ = y;
    x ^= x << 23;
    s1_ = x ^ y ^ (x >> 17) ^ (y >> 26);
    return s1_ + y;
  }

  // Uniform in [0, bound) for bound > 0 (Lemire's multiply-shift; the bias is negligible here).
  uint64_t below(uint64_t bound) {
    return static_cast<uint64_t>((static_cast<unsigned __int128>(next()) * bound) >> 64);
  }

 private:
  uint64_t splitmix(uint64_t& x) {
    uint64_t z = (x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  uint64_t s0_ = 0, s1_ = 0;
};

}  // namespace switchyard
