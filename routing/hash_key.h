#pragma once
// A cluster's hash_on, parsed once per cluster configuration, and the key hash of one request
// for ring_hash and maglev: `header:NAME` (the first value of that header), `cookie:NAME` (that
// cookie of the first Cookie header), `source_ip` (the client's address). A request without the
// key (header or cookie absent or empty) has none: the balancer then picks by weight alone.
// Worker thread for compute(); the value is immutable.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "routing/route_table.h"

namespace switchyard::routing {

class HashKey {
 public:
  enum class Source { kNone, kHeader, kCookie, kSourceIp };

  HashKey() = default;  // kNone: the cluster does not hash
  // "" -> kNone; otherwise the spec, or an error naming what is wrong. Header names are
  // case-insensitive (kept lower-case); cookie names are case-sensitive.
  static Result<HashKey> parse(std::string_view spec);

  Source source() const { return source_; }
  const std::string& name() const { return name_; }

  std::optional<uint64_t> compute(const RequestHeaders& headers, std::string_view source_ip) const;

  // The value of cookie `name` in a Cookie header ("a=1; b=2"), if present.
  static std::optional<std::string_view> findCookie(std::string_view header, std::string_view name);

 private:
  Source source_ = Source::kNone;
  std::string name_;
};

}  // namespace switchyard::routing
