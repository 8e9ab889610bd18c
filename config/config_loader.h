#pragma once
// Loads and validates the YAML file in one pass that collects every error, each with
// file:line:column (yaml-cpp's Node::Mark(), 1-based in messages) and the key path.

#include <string>
#include <vector>

#include "config/config.h"

namespace switchyard::config {

struct ConfigError {
  std::string file;
  int line = 0;    // 1-based; 0 when unknown (e.g. the file could not be read)
  int column = 0;  // 1-based
  std::string path;     // key path, e.g. "clusters[0].discovery.static[1]"
  std::string message;  // e.g. "unknown key \"timeout\" (did you mean \"connect_timeout_ms\"?)"

  // "file:line:column: path: message", the form printed by `switchyard check`.
  std::string str() const;
};

struct LoadResult {
  Config config;                    // meaningful only when errors is empty
  std::vector<ConfigError> errors;  // every error found, in file order
  bool ok() const { return errors.empty(); }
};

LoadResult loadConfigFile(const std::string& path);
// For tests and for `GET /config` round trips: `name` is used as the file name in errors;
// relative paths in the text (files, certificates) resolve against `base_dir`.
LoadResult loadConfigString(const std::string& yaml, const std::string& name = "<string>",
                            const std::string& base_dir = ".");

}  // namespace switchyard::config
