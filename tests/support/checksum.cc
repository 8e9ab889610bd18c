#include "tests/support/checksum.h"

#include <cstdio>
#include <vector>

namespace switchyard::support {

void Checksum::update(const void* data, size_t size) {
  auto* p = static_cast<const unsigned char*>(data);
  uint64_t h = hash_;
  for (size_t i = 0; i < size; ++i) {
    h ^= p[i];
    h *= 0x100000001b3ull;
  }
  hash_ = h;
  bytes_ += size;
}

std::string Checksum::hex() const {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(hash_));
  return buf;
}

std::string Checksum::pattern(uint64_t offset, size_t size) {
  std::string s(size, '\0');
  fillPattern(s.data(), offset, size);
  return s;
}

void Checksum::fillPattern(char* dst, uint64_t offset, size_t size) {
  for (size_t i = 0; i < size; ++i) dst[i] = patternByte(offset + i);
}

Checksum Checksum::ofPattern(uint64_t size) {
  Checksum c;
  std::vector<char> buf(1 << 16);
  for (uint64_t done = 0; done < size;) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(buf.size(), size - done));
    fillPattern(buf.data(), done, n);
    c.update(buf.data(), n);
    done += n;
  }
  return c;
}

}  // namespace switchyard::support
