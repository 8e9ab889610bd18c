#pragma once
// The loader's internal pieces, one per part of the file: listeners, clusters, and the
// cross-reference checks run once everything is read. Not for use outside config/.

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <string>
#include <vector>

#include "config/config.h"
#include "config/diagnostics.h"

namespace switchyard::config::detail {

struct LoadContext {
  Diagnostics& diag;
  std::filesystem::path base_dir;  // relative file names in the configuration resolve against it

  std::string resolve(const std::string& file) const;
};

void readListeners(const YAML::Node& node, const std::string& path, const LoadContext& ctx,
                   std::vector<Listener>& out);
void readClusters(const YAML::Node& node, const std::string& path, const LoadContext& ctx,
                  std::vector<Cluster>& out);
// Duplicate names, routes naming missing clusters, sections that need ZooKeeper.
void validateConfig(const Config& config, Diagnostics& diag);

std::string toLower(std::string s);

}  // namespace switchyard::config::detail
