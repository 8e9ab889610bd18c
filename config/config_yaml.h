#pragma once
// Writes a configuration back out as YAML: the running configuration for `GET /config`, with
// every default spelled out. Loading the text again gives an equal Config (source_path aside).

#include <string>

#include "config/config.h"

namespace switchyard::config {

std::string toYaml(const Config& config);

}  // namespace switchyard::config
