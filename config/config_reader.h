#pragma once
// Small typed readers over yaml-cpp nodes for the configuration loader. Every reader reports its
// own errors (place, key path, message) to a Diagnostics and never throws, so that one pass finds
// every error; a bad or absent value leaves the struct's default in place.

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/host_port.h"
#include "config/config_names.h"
#include "config/diagnostics.h"

namespace switchyard::config {

// Where to report an error about a node: yaml-cpp gives a null node the place of the token
// after it, so a null node has no place of its own (Diagnostics then uses its key's place).
YAML::Mark placeOf(const YAML::Node& node);

// What a node is, for messages: "a map", "a list", "null", "\"text\"".
std::string describe(const YAML::Node& node);

std::optional<std::string> readString(const YAML::Node& node, const std::string& path,
                                      Diagnostics& diag, bool allow_empty = false);
std::optional<uint64_t> readUnsigned(const YAML::Node& node, const std::string& path,
                                     Diagnostics& diag, uint64_t min, uint64_t max);
std::optional<double> readNumber(const YAML::Node& node, const std::string& path, Diagnostics& diag,
                                 double min, double max);
std::optional<HostPort> readHostPort(const YAML::Node& node, const std::string& path,
                                     Diagnostics& diag, bool allow_zero_port = false);
// The index of the node's value in `names`; the error lists the names, with a hint.
std::optional<size_t> readChoice(const YAML::Node& node, const std::string& path, Diagnostics& diag,
                                 const std::vector<std::string_view>& names);

template <class E>
std::optional<E> readEnum(const YAML::Node& node, const std::string& path, Diagnostics& diag,
                          NameTable<E> table) {
  std::vector<std::string_view> names;
  for (const auto& entry : table) names.push_back(entry.first);
  auto index = readChoice(node, path, diag, names);
  if (!index) return std::nullopt;
  return table[*index].second;
}

// Calls fn(item, "path[i]") for every item of a list; false (reported) when node is no list.
bool forEachItem(const YAML::Node& node, const std::string& path, Diagnostics& diag,
                 const std::function<void(const YAML::Node&, const std::string&)>& fn);

// One YAML map of the configuration. Construction reports a node that is not a map, every key
// not in `allowed` (with a "did you mean" hint) and every duplicate key.
class MapReader {
 public:
  MapReader(const YAML::Node& node, std::string path, Diagnostics& diag,
            std::vector<std::string_view> allowed);

  bool valid() const { return valid_; }
  const std::string& path() const { return path_; }
  std::string pathOf(std::string_view key) const;
  const YAML::Mark& mark() const { return mark_; }
  Diagnostics& diag() const { return diag_; }

  bool has(std::string_view key) const { return find(key) != nullptr; }
  YAML::Node get(std::string_view key) const;  // an undefined node when absent
  // Reports the key as missing when it is absent (at the map's own place); true when present.
  bool require(std::string_view key) const;

  // Typed fields. An absent key leaves `out` alone; a bad value is reported and leaves it too.
  void readString(std::string_view key, std::string& out, bool allow_empty = false) const;
  void readUint32(std::string_view key, uint32_t& out, uint32_t min = 0,
                  uint32_t max = std::numeric_limits<uint32_t>::max()) const;
  void readUint64(std::string_view key, uint64_t& out, uint64_t min = 0,
                  uint64_t max = std::numeric_limits<uint64_t>::max()) const;
  void readDouble(std::string_view key, double& out, double min, double max) const;
  void readHostPort(std::string_view key, HostPort& out, bool allow_zero_port = false) const;

  template <class E>
  void readEnum(std::string_view key, E& out, NameTable<E> table) const {
    if (!has(key)) return;
    if (auto v = config::readEnum<E>(get(key), pathOf(key), diag_, table)) out = *v;
  }

 private:
  struct Entry {
    std::string key;
    YAML::Node value;
  };
  const Entry* find(std::string_view key) const;

  std::string path_;
  Diagnostics& diag_;
  YAML::Mark mark_;
  bool valid_ = false;
  std::vector<Entry> entries_;
};

}  // namespace switchyard::config
