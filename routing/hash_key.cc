#include "routing/hash_key.h"

#include <algorithm>
#include <cctype>

#include "routing/hash64.h"

namespace switchyard::routing {

namespace {

// RFC 9110 token characters: what a header or cookie name may hold.
bool isToken(std::string_view s) {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return std::isalnum(u) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
  });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

Result<HashKey> HashKey::parse(std::string_view spec) {
  HashKey key;
  if (spec.empty()) return key;
  if (spec == "source_ip") {
    key.source_ = Source::kSourceIp;
    return key;
  }
  const auto colon = spec.find(':');
  const std::string_view kind = spec.substr(0, colon);
  const std::string_view name = colon == std::string_view::npos ? "" : spec.substr(colon + 1);
  if (colon != std::string_view::npos && (kind == "header" || kind == "cookie")) {
    if (!isToken(name))
      return makeError("bad hash_on \"" + std::string(spec) + "\": " + std::string(kind) +
                       " name must be a non-empty token");
    key.source_ = kind == "header" ? Source::kHeader : Source::kCookie;
    key.name_.assign(name);
    if (key.source_ == Source::kHeader)
      std::transform(key.name_.begin(), key.name_.end(), key.name_.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return key;
  }
  return makeError("bad hash_on \"" + std::string(spec) +
                   "\" (expected header:NAME, cookie:NAME or source_ip)");
}

std::optional<std::string_view> HashKey::findCookie(std::string_view header,
                                                    std::string_view name) {
  while (!header.empty()) {
    const auto semi = header.find(';');
    const std::string_view pair = trim(header.substr(0, semi));
    header = semi == std::string_view::npos ? std::string_view() : header.substr(semi + 1);
    const auto eq = pair.find('=');
    if (eq == std::string_view::npos || trim(pair.substr(0, eq)) != name) continue;
    return trim(pair.substr(eq + 1));
  }
  return std::nullopt;
}

std::optional<uint64_t> HashKey::compute(const RequestHeaders& headers,
                                         std::string_view source_ip) const {
  std::optional<std::string_view> value;
  switch (source_) {
    case Source::kNone:
      return std::nullopt;
    case Source::kHeader:
      value = headers.get(name_);
      break;
    case Source::kCookie:
      if (auto cookies = headers.get("cookie")) value = findCookie(*cookies, name_);
      break;
    case Source::kSourceIp:
      value = source_ip;
      break;
  }
  if (!value || value->empty()) return std::nullopt;
  return hashBytes(*value);
}

}  // namespace switchyard::routing
