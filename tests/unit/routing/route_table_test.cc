#include "routing/route_table.h"

#include <gtest/gtest.h>

#include <map>

#include "config/config_loader.h"

namespace switchyard::routing {
namespace {

using HeaderMap = std::map<std::string, std::string>;

class MapHeaders final : public RequestHeaders {
 public:
  explicit MapHeaders(HeaderMap h = {}) : h_(std::move(h)) {}
  std::optional<std::string_view> get(std::string_view name) const override {
    auto it = h_.find(std::string(name));
    if (it == h_.end()) return std::nullopt;
    return std::string_view(it->second);
  }

 private:
  HeaderMap h_;
};

config::Config load(const std::string& yaml) {
  auto r = config::loadConfigString(yaml, "test.yaml");
  EXPECT_TRUE(r.ok()) << (r.errors.empty() ? "" : r.errors.front().str());
  return r.config;
}

const char* kConfig = R"(
listeners:
  - name: web
    address: "127.0.0.1:8080"
    routes:
      - match: { host: "API.example.com", path_prefix: "/v2/", headers: { X-Canary: "1" } }
        cluster: canary
      - match: { host: "api.example.com", path_prefix: "/v2/" }
        cluster: api
      - match: { path_prefix: "/split/" }
        split:
          - { cluster: web, weight: 95 }
          - { cluster: canary, weight: 5 }
      - match: { path_prefix: "/" }
        cluster: web
clusters:
  - { name: web, discovery: { static: ["127.0.0.1:1"] } }
  - { name: api, discovery: { static: ["127.0.0.1:2"] } }
  - { name: canary, discovery: { static: ["127.0.0.1:3"] } }
)";

constexpr int kWeb = 0, kApi = 1, kCanary = 2;

TEST(RouteTable, FirstMatchWinsOnHostPathAndHeaders) {
  const auto config = load(kConfig);
  RouteTable table(config.listeners[0].routes, config);
  Random random(1);
  const MapHeaders none;
  const MapHeaders canary(HeaderMap{{"x-canary", "1"}});
  EXPECT_EQ(table.match("api.example.com", "/v2/users", canary, random), kCanary);
  EXPECT_EQ(table.match("api.example.com", "/v2/users", none, random), kApi);
  // Host compares case-insensitively and without its port.
  EXPECT_EQ(table.match("Api.Example.COM:8080", "/v2/x", none, random), kApi);
  EXPECT_EQ(table.match("other.example.com", "/v2/users", canary, random), kWeb);
  EXPECT_EQ(table.match("api.example.com", "/v1/users", none, random), kWeb);
  const MapHeaders wrong(HeaderMap{{"x-canary", "2"}});
  EXPECT_EQ(table.match("api.example.com", "/v2/", wrong, random), kApi);
}

TEST(RouteTable, NoMatchIsMinusOne) {
  const auto config = load(R"(
listeners:
  - name: web
    address: "127.0.0.1:8080"
    routes:
      - match: { path_prefix: "/only/" }
        cluster: web
clusters:
  - { name: web, discovery: { static: ["127.0.0.1:1"] } }
)");
  RouteTable table(config.listeners[0].routes, config);
  Random random(1);
  EXPECT_EQ(table.match("h", "/elsewhere", MapHeaders(), random), -1);
  EXPECT_EQ(table.match("h", "/only/x", MapHeaders(), random), 0);
}

TEST(RouteTable, SplitFollowsWeightsWithinStatisticalBounds) {
  const auto config = load(kConfig);
  RouteTable table(config.listeners[0].routes, config);
  Random random(42);
  const int n = 100000;
  int canary = 0, web = 0;
  for (int i = 0; i < n; ++i) {
    const int c = table.match("h", "/split/x", MapHeaders(), random);
    canary += c == kCanary;
    web += c == kWeb;
  }
  EXPECT_EQ(canary + web, n);
  // 5% of 100000 = 5000, standard deviation about 69: six of them either side.
  EXPECT_NEAR(canary, 5000, 420);
}

}  // namespace
}  // namespace switchyard::routing
