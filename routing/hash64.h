#pragma once
// 64-bit hashing for consistent-hash balancers: keys (header, cookie, client address) and ring /
// table positions of endpoints. Deterministic across processes and runs, so that every gateway
// (and every worker) maps a key to the same endpoint. Not for anything security-related.

#include <cstdint>
#include <cstring>
#include <string_view>

namespace switchyard::routing {

// A strong 64-bit finalizer (MurmurHash3's fmix64): every input bit flips about half the output.
inline uint64_t mix64(uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdull;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ull;
  k ^= k >> 33;
  return k;
}

// MurmurHash64A's scheme: 8 bytes at a time, then the tail, then the finalizer.
inline uint64_t hashBytes(std::string_view s, uint64_t seed = 0x5157) {
  constexpr uint64_t m = 0xc6a4a7935bd1e995ull;
  constexpr int r = 47;
  uint64_t h = seed ^ (s.size() * m);
  const char* p = s.data();
  size_t n = s.size();
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t k;
    std::memcpy(&k, p, 8);
    k *= m;
    k ^= k >> r;
    k *= m;
    h ^= k;
    h *= m;
  }
  if (n > 0) {
    uint64_t tail = 0;
    for (size_t i = 0; i < n; ++i)
      tail |= static_cast<uint64_t>(static_cast<uint8_t>(p[i])) << (8 * i);
    h ^= tail;
    h *= m;
  }
  return mix64(h);
}

}  // namespace switchyard::routing
