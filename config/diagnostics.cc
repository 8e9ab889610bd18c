#include "config/diagnostics.h"

#include <algorithm>

namespace switchyard::config {

std::string parentPath(const std::string& path) {
  const auto cut = path.find_last_of(".[");
  return cut == std::string::npos ? std::string() : path.substr(0, cut);
}

void Diagnostics::error(const YAML::Mark& mark, const std::string& path, std::string message) {
  ConfigError e;
  e.file = file_;
  // yaml-cpp leaves some nodes (a key with no value) without a place: use the nearest known one.
  const YAML::Mark place = mark.is_null() ? markOf(path) : mark;
  if (!place.is_null()) {
    e.line = place.line + 1;  // yaml-cpp counts from 0; editors and humans from 1
    e.column = place.column + 1;
  }
  e.path = path;
  e.message = std::move(message);
  errors_.push_back(std::move(e));
}

void Diagnostics::errorAt(const std::string& path, std::string message) {
  error(markOf(path), path, std::move(message));
}

void Diagnostics::remember(const std::string& path, const YAML::Mark& mark) {
  if (!mark.is_null()) marks_.emplace(path, mark);
}

YAML::Mark Diagnostics::markOf(const std::string& path) const {
  for (std::string p = path;; p = parentPath(p)) {
    auto it = marks_.find(p);
    if (it != marks_.end()) return it->second;
    if (p.empty()) return YAML::Mark::null_mark();
  }
}

std::vector<ConfigError> Diagnostics::take() {
  std::stable_sort(errors_.begin(), errors_.end(), [](const ConfigError& a, const ConfigError& b) {
    return std::pair(a.line, a.column) < std::pair(b.line, b.column);
  });
  return std::move(errors_);
}

}  // namespace switchyard::config
