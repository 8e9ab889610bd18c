#pragma once
// Collects the configuration's errors in one pass, and remembers where each key path was
// written so that the cross-reference checks made after parsing can point at the right place.

#include <yaml-cpp/mark.h>

#include <string>
#include <unordered_map>
#include <vector>

#include "config/config_loader.h"

namespace switchyard::config {

class Diagnostics {
 public:
  explicit Diagnostics(std::string file) : file_(std::move(file)) {}

  // An error at a place in the file (a null mark means "unknown place": line 0).
  void error(const YAML::Mark& mark, const std::string& path, std::string message);
  // An error at the remembered place of `path`, or of its nearest remembered ancestor.
  void errorAt(const std::string& path, std::string message);

  void remember(const std::string& path, const YAML::Mark& mark);
  YAML::Mark markOf(const std::string& path) const;

  size_t count() const { return errors_.size(); }
  const std::string& file() const { return file_; }
  // Every error, in file order (line, then column; errors with no place first).
  std::vector<ConfigError> take();

 private:
  std::string file_;
  std::vector<ConfigError> errors_;
  std::unordered_map<std::string, YAML::Mark> marks_;
};

// "a.b[2].c" -> "a.b[2]" -> "a.b" -> "a" -> "".
std::string parentPath(const std::string& path);

}  // namespace switchyard::config
