#include "discovery/member_decoder.h"

#include <boost/asio/ip/address.hpp>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <optional>
#include <nlohmann/json.hpp>

namespace switchyard::discovery {

namespace {

using Json = nlohmann::json;

constexpr std::pair<std::string_view, MemberStatus> kStatusNames[] = {
    {"ALIVE", MemberStatus::kAlive},       {"STARTING", MemberStatus::kStarting},
    {"STOPPING", MemberStatus::kStopping}, {"STOPPED", MemberStatus::kStopped},
    {"DEAD", MemberStatus::kDead},         {"WARNING", MemberStatus::kWarning},
};

Rejection reject(std::string reason, std::string detail) {
  return Rejection{std::move(reason), std::move(detail)};
}

// A short excerpt of a JSON value for a log line (never the whole of a large document).
std::string excerpt(const Json& value) {
  std::string text = value.dump(-1, ' ', false, Json::error_handler_t::replace);
  if (text.size() > 60) text = text.substr(0, 57) + "...";
  return text;
}

bool isHostnameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

// A hostname: dot-separated labels of 1..63 letters, digits, '-' or '_' (Aurora and Kubernetes
// names use them), not starting or ending with '-'; 253 characters at most; a trailing dot
// (fully qualified) is allowed.
bool isPlausibleHostname(std::string_view host) {
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  if (host.empty() || host.size() > 253) return false;
  size_t start = 0;
  while (start <= host.size()) {
    size_t dot = host.find('.', start);
    std::string_view label = host.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-')
      return false;
    for (char c : label)
      if (!isHostnameChar(c)) return false;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return true;
}

bool isIpLiteral(std::string_view host) {
  boost::system::error_code ec;
  boost::asio::ip::make_address(std::string(host), ec);
  return !ec;
}

// The host of an endpoint: a string holding a hostname or an IP literal ("[v6]" is unwrapped).
std::variant<std::string, Rejection> readHost(const Json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return reject("bad_host", std::string("no ") + key);
  if (!it->is_string())
    return reject("bad_host", std::string(key) + " is not a string: " + excerpt(*it));
  std::string host = it->get<std::string>();
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    std::string inner = host.substr(1, host.size() - 2);
    if (inner.find(':') != std::string::npos && isIpLiteral(inner)) return inner;
  }
  if (host.empty()) return reject("bad_host", std::string(key) + " is empty");
  if (!isIpLiteral(host) && !isPlausibleHostname(host))
    return reject("bad_host", std::string(key) + " is not a hostname or IP: " + excerpt(*it));
  return host;
}

// A port: a JSON integer 1..65535.
std::variant<uint16_t, Rejection> readPort(const Json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return reject("bad_port", std::string("no ") + key);
  if (!it->is_number_integer())
    return reject("bad_port", std::string(key) + " is not an integer: " + excerpt(*it));
  if (it->is_number_unsigned()) {
    uint64_t port = it->get<uint64_t>();
    if (port >= 1 && port <= 65535) return static_cast<uint16_t>(port);
  } else {
    int64_t port = it->get<int64_t>();
    if (port >= 1 && port <= 65535) return static_cast<uint16_t>(port);
  }
  return reject("bad_port", std::string(key) + " out of range 1..65535: " + excerpt(*it));
}

// host + port of one object into member.address; nullopt on success.
std::optional<Rejection> readAddress(const Json& object, const char* host_key, const char* port_key,
                                     Member& member) {
  auto host = readHost(object, host_key);
  if (auto* r = std::get_if<Rejection>(&host)) return *r;
  auto port = readPort(object, port_key);
  if (auto* r = std::get_if<Rejection>(&port)) return *r;
  member.address = HostPort{std::get<std::string>(std::move(host)), std::get<uint16_t>(port)};
  return std::nullopt;
}

std::optional<Rejection> readStatus(const Json& doc, Member& member) {
  auto it = doc.find("status");
  if (it == doc.end() || it->is_null()) return std::nullopt;  // missing means ALIVE
  if (it->is_string()) {
    const auto& name = it->get_ref<const std::string&>();
    for (const auto& [text, status] : kStatusNames) {
      if (name == text) {
        member.status = status;
        return std::nullopt;
      }
    }
  }
  return reject("unknown_status", "status " + excerpt(*it));
}

std::optional<Rejection> readShard(const Json& doc, Member& member) {
  auto it = doc.find("shard");
  if (it == doc.end() || it->is_null()) return std::nullopt;
  if (it->is_number_integer()) {
    int64_t shard = it->is_number_unsigned()
                        ? static_cast<int64_t>(std::min<uint64_t>(it->get<uint64_t>(), INT64_MAX))
                        : it->get<int64_t>();
    if (shard >= 0 && shard <= std::numeric_limits<int32_t>::max()) {
      member.shard = static_cast<int32_t>(shard);
      return std::nullopt;
    }
  }
  return reject("bad_shard", "shard " + excerpt(*it));
}

// A finite number >= 0.
std::optional<double> readWeightValue(const Json& value) {
  if (!value.is_number()) return std::nullopt;
  double w = value.get<double>();
  if (!std::isfinite(w) || w < 0) return std::nullopt;
  return w;
}

DecodedMember decodeServerSet(const Json& doc, std::string_view endpoint) {
  Member member;
  const Json* where = nullptr;
  std::string name;
  if (endpoint.empty()) {
    name = "serviceEndpoint";
    auto it = doc.find(name);
    if (it != doc.end()) where = &*it;
  } else {
    name = "additionalEndpoints[" + std::string(endpoint) + "]";
    auto all = doc.find("additionalEndpoints");
    if (all != doc.end() && all->is_object()) {
      auto it = all->find(std::string(endpoint));
      if (it != all->end()) where = &*it;
    }
  }
  if (where == nullptr || where->is_null()) return reject("no_endpoint", "no " + name);
  if (!where->is_object()) return reject("no_endpoint", name + " is not an object");
  if (auto r = readAddress(*where, "host", "port", member)) {
    r->detail = name + ": " + r->detail;
    return *r;
  }
  if (auto r = readStatus(doc, member)) return *r;
  if (auto r = readShard(doc, member)) return *r;
  return member;
}

DecodedMember decodeCurator(const Json& doc, std::string_view endpoint) {
  Member member;
  const char* port_key = nullptr;
  if (endpoint.empty() || endpoint == "port") {
    port_key = "port";
  } else if (endpoint == "ssl" || endpoint == "sslPort") {
    port_key = "sslPort";
  } else {
    return reject("no_endpoint", "curator instances have endpoints \"port\" and \"ssl\", not \"" +
                                     std::string(endpoint) + "\"");
  }
  auto port = doc.find(port_key);
  if (port == doc.end() || port->is_null()) {
    return reject("no_endpoint", std::string("no ") + port_key);
  }
  if (auto r = readAddress(doc, "address", port_key, member)) return *r;
  auto enabled = doc.find("enabled");
  if (enabled != doc.end() && enabled->is_boolean() && !enabled->get<bool>()) {
    member.status = MemberStatus::kStopped;
  }
  return member;
}

DecodedMember decodeNerve(const Json& doc) {
  Member member;
  if (auto r = readAddress(doc, "host", "port", member)) return *r;
  auto weight = doc.find("weight");
  if (weight != doc.end() && !weight->is_null()) {
    auto w = readWeightValue(*weight);
    if (!w) return reject("bad_weight", "weight " + excerpt(*weight));
    member.weight = *w;
  }
  return member;
}

// Parses data as one JSON object, or says why not.
std::variant<Json, Rejection> parseObject(std::string_view data) {
  if (data.size() > kMaxMemberBytes) {
    return reject("too_large", std::to_string(data.size()) + " bytes, more than " +
                                   std::to_string(kMaxMemberBytes));
  }
  Json doc = Json::parse(data.begin(), data.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    return reject("bad_json", data.empty() ? "empty data" : "not valid JSON");
  }
  if (!doc.is_object()) return reject("not_object", "JSON " + std::string(doc.type_name()));
  return doc;
}

}  // namespace

const char* toString(MemberStatus status) {
  for (const auto& [text, value] : kStatusNames)
    if (value == status) return text.data();
  return "UNKNOWN";
}

DecodedMember decodeMember(std::string_view data, config::ServerSetFormat format,
                           std::string_view endpoint) {
  auto parsed = parseObject(data);
  if (auto* r = std::get_if<Rejection>(&parsed)) return std::move(*r);
  const Json& doc = std::get<Json>(parsed);
  switch (format) {
    case config::ServerSetFormat::kServerSet:
      return decodeServerSet(doc, endpoint);
    case config::ServerSetFormat::kCurator:
      return decodeCurator(doc, endpoint);
    case config::ServerSetFormat::kNerve:
      return decodeNerve(doc);
  }
  return reject("bad_json", "unknown format");
}

bool isMemberName(std::string_view child, config::ServerSetFormat format) {
  if (child.empty() || child == "zookeeper") return false;
  switch (format) {
    case config::ServerSetFormat::kServerSet:
      return child.starts_with("member_");
    case config::ServerSetFormat::kCurator:
    case config::ServerSetFormat::kNerve:
      return true;
  }
  return false;
}

bool isWeightVectorName(std::string_view child) { return child.starts_with("vector_"); }

DecodedWeightVector decodeWeightVector(std::string_view data) {
  auto parsed = parseObject(data);
  if (auto* r = std::get_if<Rejection>(&parsed)) return std::move(*r);
  const Json& doc = std::get<Json>(parsed);
  auto vector = doc.find("vector");
  if (vector == doc.end() || !vector->is_array()) {
    return reject("bad_selector", "no \"vector\" array");
  }
  std::vector<WeightSelector> out;
  for (size_t i = 0; i < vector->size(); ++i) {
    const Json& entry = (*vector)[i];
    std::string where = "vector[" + std::to_string(i) + "]";
    if (!entry.is_object()) return reject("bad_selector", where + " is not an object");
    auto select = entry.find("select");
    if (select == entry.end() || !select->is_string()) {
      return reject("bad_selector", where + ": no \"select\" string");
    }
    const auto& text = select->get_ref<const std::string&>();
    WeightSelector s;
    size_t eq = text.find('=');
    std::string_view kind = std::string_view(text).substr(0, eq);
    s.value = eq == std::string::npos ? "" : text.substr(eq + 1);
    if (kind == "inet") {
      auto hp = parseHostPort(s.value);
      if (!hp) return reject("bad_selector", where + ": " + hp.error().message);
      s.kind = WeightSelector::Kind::kInet;
      s.inet = *hp;
    } else if (kind == "member") {
      if (s.value.empty()) return reject("bad_selector", where + ": empty member name");
      s.kind = WeightSelector::Kind::kMember;
    } else if (kind == "shard") {
      char* end = nullptr;
      long shard = std::strtol(s.value.c_str(), &end, 10);
      if (s.value.empty() || *end != '\0' || shard < 0 ||
          shard > std::numeric_limits<int32_t>::max()) {
        return reject("bad_selector", where + ": bad shard \"" + s.value + "\"");
      }
      s.kind = WeightSelector::Kind::kShard;
      s.shard = static_cast<int32_t>(shard);
    } else {
      return reject("bad_selector", where + ": unknown selector \"" + text + "\"");
    }
    auto weight = entry.find("weight");
    std::optional<double> w = weight == entry.end() ? std::nullopt : readWeightValue(*weight);
    if (!w) {
      return reject("bad_weight",
                    where + ": weight " + (weight == entry.end() ? "missing" : excerpt(*weight)));
    }
    s.weight = *w;
    out.push_back(std::move(s));
  }
  return out;
}

namespace {

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  }
  return true;
}

}  // namespace

double weightFor(const HostPort& address, std::string_view member, int32_t shard,
                 const std::vector<WeightSelector>& selectors, std::string_view resolved_ip) {
  double weight = 1.0;
  for (const auto& s : selectors) {
    bool match = false;
    switch (s.kind) {
      case WeightSelector::Kind::kInet:
        match =
            s.inet.port == address.port && (equalsIgnoreCase(s.inet.host, address.host) ||
                                            (!resolved_ip.empty() && s.inet.host == resolved_ip));
        break;
      case WeightSelector::Kind::kMember:
        match = !member.empty() && s.value == member;
        break;
      case WeightSelector::Kind::kShard:
        match = shard >= 0 && s.shard == shard;
        break;
    }
    if (match) weight *= s.weight;
  }
  return weight;
}

}  // namespace switchyard::discovery
