#include "discovery/instance_file.h"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <cmath>
#include <string>

namespace switchyard::discovery {
namespace {

std::string where(const YAML::Node& node) { return "line " + std::to_string(node.Mark().line + 1); }

Result<double> parseWeight(std::string_view text) {
  double weight = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), weight);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() ||
      !std::isfinite(weight) || weight < 0)
    return makeError("bad weight \"" + std::string(text) + "\" (expected a number >= 0)");
  return weight;
}

// "HOST:PORT" or "HOST:PORT WEIGHT".
Result<Instance> parseLine(std::string_view text) {
  auto trim = [](std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
  };
  text = trim(text);
  std::string_view address_text = text;
  std::string_view weight_text;
  if (auto space = text.find_first_of(" \t"); space != std::string_view::npos) {
    address_text = text.substr(0, space);
    weight_text = trim(text.substr(space));
    if (weight_text.find_first_of(" \t") != std::string_view::npos)
      return makeError("expected \"HOST:PORT [WEIGHT]\", got \"" + std::string(text) + "\"");
  }
  auto address = parseHostPort(address_text);
  if (!address) return address.error();
  Instance instance;
  instance.address = std::move(*address);
  if (!weight_text.empty()) {
    auto weight = parseWeight(weight_text);
    if (!weight) return weight.error();
    instance.weight = *weight;
  }
  return instance;
}

Result<Instance> parseMap(const YAML::Node& node) {
  Instance instance;
  bool has_address = false;
  for (const auto& item : node) {
    const auto key = item.first.as<std::string>();
    const YAML::Node& value = item.second;
    if (!value.IsScalar()) return makeError("\"" + key + "\" must be a scalar");
    if (key == "address") {
      auto address = parseHostPort(value.Scalar());
      if (!address) return address.error();
      instance.address = std::move(*address);
      has_address = true;
    } else if (key == "weight") {
      auto weight = parseWeight(value.Scalar());
      if (!weight) return weight.error();
      instance.weight = *weight;
    } else if (key == "shard") {
      const std::string& text = value.Scalar();
      int32_t shard = -1;
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), shard);
      if (text.empty() || ec != std::errc() || end != text.data() + text.size() || shard < 0)
        return makeError("bad shard \"" + text + "\" (expected an integer >= 0)");
      instance.shard = shard;
    } else {
      // Strict like the config file: a misspelt "wieght" must not pass silently.
      return makeError("unknown key \"" + key + "\" (expected address, weight, shard)");
    }
  }
  if (!has_address) return makeError("missing \"address\"");
  return instance;
}

}  // namespace

Result<InstanceFile> parseInstanceFile(std::string_view text) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return makeError("not valid YAML: " + e.msg + " at line " + std::to_string(e.mark.line + 1));
  }
  if (root.IsNull()) return makeError("empty file (write [] for a cluster with no instance)");
  if (!root.IsSequence())
    return makeError("expected a list of \"HOST:PORT [WEIGHT]\" entries at " + where(root));

  InstanceFile out;
  for (const auto& entry : root) {
    Result<Instance> parsed = makeError("expected \"HOST:PORT [WEIGHT]\" or {address, weight}");
    try {
      if (entry.IsScalar()) {
        parsed = parseLine(entry.Scalar());
      } else if (entry.IsMap()) {
        parsed = parseMap(entry);
      }
    } catch (const YAML::Exception& e) {
      parsed = makeError(e.msg);
    }
    if (parsed) {
      out.instances.push_back(std::move(*parsed));
    } else {
      out.entry_errors.push_back(where(entry) + ": " + parsed.error().message);
    }
  }
  return out;
}

}  // namespace switchyard::discovery
