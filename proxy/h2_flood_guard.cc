#include "proxy/h2_flood_guard.h"

#include <algorithm>

namespace switchyard::proxy {

std::string_view floodKindName(FloodKind kind) {
  switch (kind) {
    case FloodKind::kRstStream:
      return "rst_stream";
    case FloodKind::kSettings:
      return "settings";
    case FloodKind::kPing:
      return "ping";
    case FloodKind::kEmptyData:
      return "empty_data";
    case FloodKind::kHeaders:
      return "headers";
  }
  return "unknown";
}

H2FloodGuard::H2FloodGuard(const std::array<FloodLimit, kFloodKinds>& limits) : limits_(limits) {}

bool H2FloodGuard::allow(FloodKind kind, TimePoint now) {
  const auto i = static_cast<std::size_t>(kind);
  Bucket& b = buckets_[i];
  const FloodLimit& limit = limits_[i];
  if (!b.started) {
    b.started = true;
    b.tokens = limit.burst;
  } else if (now > b.last) {
    const double seconds = std::chrono::duration<double>(now - b.last).count();
    b.tokens = std::min(limit.burst, b.tokens + seconds * limit.rate);
  }
  b.last = std::max(b.last, now);
  if (b.tokens < 1) return false;
  b.tokens -= 1;
  return true;
}

}  // namespace switchyard::proxy
