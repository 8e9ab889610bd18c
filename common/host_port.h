#pragma once
// "HOST:PORT" parsing shared by config, discovery and the command line. IPv6 literals are
// written in brackets: "[::1]:8080".

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace switchyard {

struct HostPort {
  std::string host;
  uint16_t port = 0;

  std::string str() const;  // "host:port", or "[v6]:port"
  friend bool operator==(const HostPort&, const HostPort&) = default;
  friend auto operator<=>(const HostPort&, const HostPort&) = default;
};

// Accepts "host:port", "[v6]:port"; port 1..65535 (0 only when allow_zero_port). The host may be
// a name or an address; it must not be empty.
Result<HostPort> parseHostPort(std::string_view text, bool allow_zero_port = false);

}  // namespace switchyard
