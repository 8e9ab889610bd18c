#include "common/host_port.h"

#include <charconv>

namespace switchyard {

std::string HostPort::str() const {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

Result<HostPort> parseHostPort(std::string_view text, bool allow_zero_port) {
  HostPort out;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
      return makeError("expected [IPV6]:PORT, got \"" + std::string(text) + "\"");
    out.host = std::string(text.substr(1, close - 1));
    port_text = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos)
      return makeError("expected HOST:PORT, got \"" + std::string(text) + "\"");
    if (text.find(':') != colon)
      return makeError("IPv6 addresses must be written in brackets: \"" + std::string(text) + "\"");
    out.host = std::string(text.substr(0, colon));
    port_text = text.substr(colon + 1);
  }
  if (out.host.empty()) return makeError("empty host in \"" + std::string(text) + "\"");
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
  if (port_text.empty() || ec != std::errc() || end != port_text.data() + port_text.size() ||
      value > 65535 || (value == 0 && !allow_zero_port))
    return makeError("bad port \"" + std::string(port_text) + "\" in \"" + std::string(text) +
                     "\" (expected 1-65535)");
  out.port = static_cast<uint16_t>(value);
  return out;
}

}  // namespace switchyard
