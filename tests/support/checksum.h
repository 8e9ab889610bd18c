#pragma once
// A streaming FNV-1a 64-bit checksum, so a test and a backend can compare bodies of hundreds of
// megabytes without holding them, and the deterministic byte pattern tests send as bodies.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace switchyard::support {

class Checksum {
 public:
  void update(const void* data, size_t size);
  void update(std::string_view data) { update(data.data(), data.size()); }
  uint64_t value() const { return hash_; }
  uint64_t bytes() const { return bytes_; }
  std::string hex() const;  // 16 lower-case hex digits

  // Byte i of the test pattern (a run that is not a multiple of any buffer size, so a
  // misplaced or repeated buffer changes the checksum).
  static char patternByte(uint64_t i) { return static_cast<char>('a' + i % 23); }
  // Bytes [offset, offset + size) of the pattern.
  static std::string pattern(uint64_t offset, size_t size);
  static void fillPattern(char* dst, uint64_t offset, size_t size);
  // Checksum of the first `size` bytes of the pattern.
  static Checksum ofPattern(uint64_t size);

 private:
  uint64_t hash_ = 0xcbf29ce484222325ull;
  uint64_t bytes_ = 0;
};

}  // namespace switchyard::support
