#pragma once
// A listener's routes, compiled for matching: first match wins; a split picks a cluster by
// weight. Built on the control thread, read by every worker.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/random.h"
#include "config/config.h"

namespace switchyard::routing {

// How the matcher sees a request: no copy of the headers is made.
class RequestHeaders {
 public:
  virtual ~RequestHeaders() = default;
  // `name` is lower-case; the first value of that header, if any.
  virtual std::optional<std::string_view> get(std::string_view name) const = 0;
};

class RouteTable {
 public:
  // `cluster_index` maps a cluster name to its position in Config::clusters; every name the
  // routes use is known (validated by the config loader).
  RouteTable(const std::vector<config::Route>& routes, const config::Config& config);

  // The index of the chosen cluster, or -1 when no route matches. `host` is the Host header
  // (any port is ignored, case-insensitive); `target` the request target.
  int match(std::string_view host, std::string_view target, const RequestHeaders& headers,
            Random& random) const;

 private:
  struct Split {
    int cluster = -1;
    uint64_t cumulative = 0;
  };
  struct Entry {
    std::string host;  // lower-case; empty = any
    std::string path_prefix;
    std::vector<std::pair<std::string, std::string>> headers;
    int cluster = -1;           // when not split
    std::vector<Split> split;   // cumulative weights
    uint64_t total_weight = 0;
  };
  std::vector<Entry> entries_;
};

}  // namespace switchyard::routing
