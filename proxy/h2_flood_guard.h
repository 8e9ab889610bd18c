#pragma once
// Per-connection rate limits on the HTTP/2 frames a client can send cheaply but that cost the
// server work or memory (the floods of CVE-2019-9512..9518 and CVE-2023-44487): RST_STREAM
// (rapid reset), SETTINGS, PING, empty DATA without END_STREAM, and header blocks the gateway
// refuses (oversize). Each kind has a token bucket: `burst` frames at once, `rate` a second
// after that; a frame that finds the bucket empty marks the connection as flooding, and the
// session closes it with GOAWAY (ENHANCE_YOUR_CALM). Time is passed in, so tests need no clock.
// Worker thread only (one guard per connection).

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

#include "common/time_source.h"

namespace switchyard::proxy {

enum class FloodKind { kRstStream, kSettings, kPing, kEmptyData, kHeaders };
constexpr std::size_t kFloodKinds = 5;

// The label in switchyard_http2_flood_closed_total{kind}.
std::string_view floodKindName(FloodKind kind);

struct FloodLimit {
  double burst;
  double rate;  // per second
};

class H2FloodGuard {
 public:
  // Limits generous for any client we know (browsers, curl, gRPC keepalives, h2load) and far
  // below what a flood sends (thousands a second).
  //
  // Deliberately not configuration keys (a listener's http2 section has the stream limit and
  // the windows, the knobs operators do tune): no legitimate client comes near these rates, so
  // a key could only be used to weaken the protection, and the right values depend on nghttp2's
  // internals rather than on the traffic. HAProxy exposes none of them either (Envoy a few,
  // mostly outbound-queue sizes that nghttp2 bounds here by itself). A client that trips one
  // shows in switchyard_http2_flood_closed_total{kind}: that figure would be the reason to add
  // a key, per kind.
  static constexpr std::array<FloodLimit, kFloodKinds> kDefaultLimits = {{
      {200, 100},  // RST_STREAM
      {50, 10},    // SETTINGS
      {50, 10},    // PING
      {100, 50},   // empty DATA
      {50, 10},    // refused header blocks
  }};

  explicit H2FloodGuard(const std::array<FloodLimit, kFloodKinds>& limits = kDefaultLimits);

  // One frame of `kind` arrived at `now`: false when it is one too many.
  bool allow(FloodKind kind, TimePoint now);

 private:
  struct Bucket {
    double tokens = 0;
    TimePoint last{};
    bool started = false;
  };
  std::array<FloodLimit, kFloodKinds> limits_;
  std::array<Bucket, kFloodKinds> buckets_{};
};

}  // namespace switchyard::proxy
