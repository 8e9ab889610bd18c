#pragma once
// Helpers shared by the configuration tests: load a string, print its errors on failure.

#include <gtest/gtest.h>

#include <string>

#include "config/config_loader.h"

namespace switchyard::config::testing {

inline std::string describeErrors(const LoadResult& r) {
  std::string out;
  for (const auto& e : r.errors) out += e.str() + "\n";
  return out;
}

// Loads text that must be valid; the test fails with every error printed otherwise.
inline Config loadValid(const std::string& yaml, const std::string& base_dir = ".") {
  LoadResult r = loadConfigString(yaml, "test.yaml", base_dir);
  EXPECT_TRUE(r.ok()) << describeErrors(r);
  return r.config;
}

// The one error `yaml` must produce: its "file:line:column: path: message" text.
inline std::string onlyError(const std::string& yaml) {
  LoadResult r = loadConfigString(yaml, "test.yaml");
  EXPECT_EQ(r.errors.size(), 1u) << describeErrors(r);
  return r.errors.empty() ? "" : r.errors.front().str();
}

// A valid minimal file: one listener, one route, one static cluster.
inline constexpr const char* kMinimal = R"(listeners:
  - name: web
    address: "127.0.0.1:8080"
    routes:
      - cluster: app
clusters:
  - name: app
    discovery:
      static: ["127.0.0.1:9001"]
)";

}  // namespace switchyard::config::testing
