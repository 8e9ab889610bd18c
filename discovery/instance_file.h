#pragma once
// The format of a `discovery: { file: ... }` instance file: a YAML list whose entries are
// "HOST:PORT", "HOST:PORT WEIGHT" or a map {address: HOST:PORT, weight: W, shard: N}.
//
//   - "10.0.0.1:8080"
//   - "10.0.0.2:8080 2.5"
//   - { address: "web-3.internal:8080", weight: 0 }

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "discovery/instance_set.h"

namespace switchyard::discovery {

struct InstanceFile {
  std::vector<Instance> instances;  // unresolved (ip unset), in file order
  // One message per skipped entry, "line 3: bad port ..."; the other entries stand.
  std::vector<std::string> entry_errors;
};

// An error when the whole file is unusable: not YAML, not a list, or empty (an empty file is
// what a reader sees in the middle of a non-atomic rewrite; a file with no instance says `[]`).
Result<InstanceFile> parseInstanceFile(std::string_view text);

}  // namespace switchyard::discovery
