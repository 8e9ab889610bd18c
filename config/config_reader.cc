#include "config/config_reader.h"

#include <charconv>
#include <cmath>
#include <cstdlib>

#include "config/edit_distance.h"

namespace switchyard::config {

namespace {

std::string quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

std::string joined(const std::vector<std::string_view>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + std::string(n);
  return out;
}

std::string formatNumber(double v) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc() ? std::string(buf, end) : std::to_string(v);
}

std::string expectedRange(uint64_t min, uint64_t max) {
  if (max == std::numeric_limits<uint64_t>::max() || max == std::numeric_limits<uint32_t>::max())
    return "expected at least " + std::to_string(min);
  return "expected " + std::to_string(min) + " to " + std::to_string(max);
}

bool isInteger(std::string_view s) {
  if (!s.empty() && (s.front() == '-' || s.front() == '+')) s.remove_prefix(1);
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

}  // namespace

YAML::Mark placeOf(const YAML::Node& node) {
  return node.IsNull() ? YAML::Mark::null_mark() : node.Mark();
}

std::string describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return quoted(node.Scalar());
    default:
      return "nothing";
  }
}

std::optional<std::string> readString(const YAML::Node& node, const std::string& path,
                                      Diagnostics& diag, bool allow_empty) {
  if (!node.IsScalar()) {
    diag.error(placeOf(node), path, "expected a string, got " + describe(node));
    return std::nullopt;
  }
  if (!allow_empty && node.Scalar().empty()) {
    diag.error(placeOf(node), path, "must not be empty");
    return std::nullopt;
  }
  return node.Scalar();
}

std::optional<uint64_t> readUnsigned(const YAML::Node& node, const std::string& path,
                                     Diagnostics& diag, uint64_t min, uint64_t max) {
  if (!node.IsScalar() || !isInteger(node.Scalar())) {
    diag.error(placeOf(node), path, "expected a whole number, got " + describe(node));
    return std::nullopt;
  }
  std::string_view text = node.Scalar();
  if (text.front() == '+') text.remove_prefix(1);
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  // A leading '-' fails from_chars for an unsigned type: it is out of range like an overflow.
  if (ec != std::errc() || end != text.data() + text.size() || value < min || value > max) {
    diag.error(placeOf(node), path,
               node.Scalar() + " is out of range (" + expectedRange(min, max) + ")");
    return std::nullopt;
  }
  return value;
}

std::optional<double> readNumber(const YAML::Node& node, const std::string& path, Diagnostics& diag,
                                 double min, double max) {
  const std::string text = node.IsScalar() ? node.Scalar() : std::string();
  char* end = nullptr;
  const double value = text.empty() ? 0 : std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || !std::isfinite(value)) {
    diag.error(placeOf(node), path, "expected a number, got " + describe(node));
    return std::nullopt;
  }
  if (value < min || value > max) {
    diag.error(placeOf(node), path,
               text + " is out of range (expected " + formatNumber(min) + " to " +
                   formatNumber(max) + ")");
    return std::nullopt;
  }
  return value;
}

std::optional<HostPort> readHostPort(const YAML::Node& node, const std::string& path,
                                     Diagnostics& diag, bool allow_zero_port) {
  auto text = readString(node, path, diag);
  if (!text) return std::nullopt;
  auto parsed = parseHostPort(*text, allow_zero_port);
  if (!parsed) {
    diag.error(placeOf(node), path, "bad address: " + parsed.error().message);
    return std::nullopt;
  }
  return parsed.value();
}

std::optional<size_t> readChoice(const YAML::Node& node, const std::string& path, Diagnostics& diag,
                                 const std::vector<std::string_view>& names) {
  if (node.IsScalar()) {
    for (size_t i = 0; i < names.size(); ++i)
      if (node.Scalar() == names[i]) return i;
  }
  std::string message = "expected one of " + joined(names) + ", got " + describe(node);
  if (node.IsScalar())
    if (auto hint = closestMatch(node.Scalar(), names))
      message += " (did you mean " + quoted(*hint) + "?)";
  diag.error(placeOf(node), path, std::move(message));
  return std::nullopt;
}

bool forEachItem(const YAML::Node& node, const std::string& path, Diagnostics& diag,
                 const std::function<void(const YAML::Node&, const std::string&)>& fn) {
  if (!node.IsSequence()) {
    diag.error(placeOf(node), path, "expected a list, got " + describe(node));
    return false;
  }
  for (size_t i = 0; i < node.size(); ++i) {
    const YAML::Node item = node[i];
    const std::string item_path = path + "[" + std::to_string(i) + "]";
    diag.remember(item_path, placeOf(item));
    fn(item, item_path);
  }
  return true;
}

MapReader::MapReader(const YAML::Node& node, std::string path, Diagnostics& diag,
                     std::vector<std::string_view> allowed)
    : path_(std::move(path)), diag_(diag), mark_(placeOf(node)) {
  if (!node.IsMap()) {
    diag_.error(mark_, path_, "expected a map, got " + describe(node));
    return;
  }
  valid_ = true;
  diag_.remember(path_, mark_);
  for (auto it = node.begin(); it != node.end(); ++it) {
    const YAML::Node key = it->first;
    if (!key.IsScalar()) {
      diag_.error(key.Mark(), path_, "expected a key name, got " + describe(key));
      continue;
    }
    const std::string& name = key.Scalar();
    if (find(name)) {
      diag_.error(key.Mark(), pathOf(name),
                  "duplicate key " + quoted(name) + " (first at line " +
                      std::to_string(diag_.markOf(pathOf(name)).line + 1) + ")");
      continue;
    }
    bool known = false;
    for (const auto& a : allowed) known = known || a == name;
    if (!known) {
      std::string message = "unknown key " + quoted(name);
      if (auto hint = closestMatch(name, allowed))
        message += " (did you mean " + quoted(*hint) + "?)";
      else
        message += " (expected one of " + joined(allowed) + ")";
      diag_.error(key.Mark(), pathOf(name), std::move(message));
      continue;
    }
    // A key with no value ("name:") gets the place of the token after it: point at the key.
    diag_.remember(pathOf(name), it->second.IsNull() ? key.Mark() : it->second.Mark());
    entries_.push_back({name, it->second});
  }
}

std::string MapReader::pathOf(std::string_view key) const {
  return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

const MapReader::Entry* MapReader::find(std::string_view key) const {
  for (const auto& e : entries_)
    if (e.key == key) return &e;
  return nullptr;
}

YAML::Node MapReader::get(std::string_view key) const {
  const Entry* e = find(key);
  return e ? e->value : YAML::Node();
}

bool MapReader::require(std::string_view key) const {
  if (has(key)) return true;
  if (valid_) diag_.error(mark_, path_, "missing required key " + quoted(key));
  return false;
}

void MapReader::readString(std::string_view key, std::string& out, bool allow_empty) const {
  if (!has(key)) return;
  if (auto v = config::readString(get(key), pathOf(key), diag_, allow_empty)) out = *v;
}

void MapReader::readUint32(std::string_view key, uint32_t& out, uint32_t min, uint32_t max) const {
  if (!has(key)) return;
  if (auto v = readUnsigned(get(key), pathOf(key), diag_, min, max))
    out = static_cast<uint32_t>(*v);
}

void MapReader::readUint64(std::string_view key, uint64_t& out, uint64_t min, uint64_t max) const {
  if (!has(key)) return;
  if (auto v = readUnsigned(get(key), pathOf(key), diag_, min, max)) out = *v;
}

void MapReader::readDouble(std::string_view key, double& out, double min, double max) const {
  if (!has(key)) return;
  if (auto v = readNumber(get(key), pathOf(key), diag_, min, max)) out = *v;
}

void MapReader::readHostPort(std::string_view key, HostPort& out, bool allow_zero_port) const {
  if (!has(key)) return;
  if (auto v = config::readHostPort(get(key), pathOf(key), diag_, allow_zero_port)) out = *v;
}

}  // namespace switchyard::config
