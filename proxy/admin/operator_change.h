#pragma once
// The admin API's mutating calls (docs/admin-api.md), as values: a POST's path and body are
// parsed and checked against the running configuration and snapshot into an OperatorChange, or
// into the 400/404 answer that says what is wrong (nothing is changed then). Pure functions.
//
//   POST /clusters/NAME/instances/HOST:PORT/weight   {"weight": W}        0 <= W <= 100
//   POST /clusters/NAME/instances/HOST:PORT/drain    (no body needed)
//   POST /clusters/NAME/instances/HOST:PORT/undrain
//   POST /clusters/NAME/weights                      {"HOST:PORT": W, ...}  all or nothing
//   POST /routes/LISTENER/INDEX/split                {"split": [{"cluster": C, "weight": N}, ...]}

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "config/config.h"
#include "routing/operator_overrides.h"
#include "routing/routing_snapshot.h"

namespace switchyard::proxy {

// An HTTP status and a JSON body.
struct AdminAnswer {
  unsigned status = 200;
  std::string body;
};

// {"error": message} with `status`.
AdminAnswer errorAnswer(unsigned status, const std::string& message);

struct OperatorChange {
  enum class Kind { kWeights, kDrain, kUndrain, kSplit };
  Kind kind = Kind::kWeights;
  std::string cluster;                     // every kind but kSplit
  std::map<std::string, double> weights;   // kWeights: instance id -> weight
  std::string instance;                    // kDrain, kUndrain
  std::string listener;                    // kSplit
  size_t route = 0;                        // kSplit
  std::vector<config::SplitTarget> split;  // kSplit
};

// Whether `path` names a mutating call (so that the server asks for the token and POST).
bool isOperatorPath(std::string_view path);

std::variant<OperatorChange, AdminAnswer> parseOperatorChange(
    std::string_view path, std::string_view body, const config::Config& config,
    const routing::RoutingSnapshot& snapshot);

// The cluster's overrides after `change` (a kSplit leaves them as they are). A drained instance
// stays drained when its weight is set; undrain brings back the weight set last.
routing::ClusterOverrides applyChange(routing::ClusterOverrides overrides,
                                      const OperatorChange& change);

// The read-modify-write step of a change shared through ZooKeeper: the cluster's node as it is
// now (nullopt: no node yet) with `change` applied, encoded. A node that does not decode (written
// by hand) is rebuilt from `fallback`, the overrides this gateway applies, rather than lost.
std::string rewriteOverrides(const OperatorChange& change,
                             const std::optional<std::string>& current,
                             const routing::ClusterOverrides& fallback);

// The 200 answer: the cluster's overrides after the change and where they live.
AdminAnswer changedAnswer(const OperatorChange& change, const routing::ClusterOverrides& overrides,
                          const std::string& shared_at);

}  // namespace switchyard::proxy
