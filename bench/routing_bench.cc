// Hot functions of the request path in routing: route match and load-balancer pick.
// Run: build-*/bench/routing_bench  (target: a pick well under 100 ns).

#include <benchmark/benchmark.h>

#include <string>

#include "common/random.h"
#include "common/time_source.h"
#include "routing/load_balancer.h"
#include "routing/route_table.h"

namespace switchyard::routing {
namespace {

class NoHeaders final : public RequestHeaders {
 public:
  std::optional<std::string_view> get(std::string_view name) const override {
    if (name == "x-canary") return std::string_view("0");
    return std::nullopt;
  }
};

// Ten routes, the one that matches last: every request walks the whole table.
void BM_RouteMatch10(benchmark::State& state) {
  config::Config config;
  for (int i = 0; i < 10; ++i) {
    config::Cluster cluster;
    cluster.name = "c" + std::to_string(i);
    config.clusters.push_back(cluster);
  }
  std::vector<config::Route> routes;
  for (int i = 0; i < 9; ++i) {
    config::Route r;
    r.match.host = "api" + std::to_string(i) + ".example.com";
    r.match.path_prefix = "/v" + std::to_string(i) + "/";
    r.match.headers = {{"x-canary", "1"}};
    r.cluster = "c" + std::to_string(i);
    routes.push_back(r);
  }
  config::Route last;
  last.match.path_prefix = "/";
  last.split = {{"c8", 95}, {"c9", 5}};
  routes.push_back(last);
  RouteTable table(routes, config);
  NoHeaders headers;
  Random random(1);
  for (auto _ : state)
    benchmark::DoNotOptimize(table.match("API3.example.com:8080", "/v3/users/42", headers, random));
}
BENCHMARK(BM_RouteMatch10);

ClusterSnapshot snapshot(int n, bool weighted) {
  ClusterSnapshot s;
  for (int i = 0; i < n; ++i) {
    Endpoint e;
    e.id = "10.0." + std::to_string(i / 250) + "." + std::to_string(i % 250) + ":80";
    e.weight = weighted ? 1 + i % 4 : 1.0;
    s.endpoints.push_back(e);
  }
  return s;
}

void pickBench(benchmark::State& state, config::LoadBalancerKind kind) {
  Random random(1);
  SystemTimeSource time;
  auto s = snapshot(static_cast<int>(state.range(0)), true);
  auto lb = makeLoadBalancer(kind, random, time);
  lb->update(s);
  PickContext ctx;
  for (auto _ : state) benchmark::DoNotOptimize(lb->pick(ctx));
}

void BM_RoundRobinPick(benchmark::State& state) {
  pickBench(state, config::LoadBalancerKind::kRoundRobin);
}
void BM_WeightedRoundRobinPick(benchmark::State& state) {
  pickBench(state, config::LoadBalancerKind::kWeightedRoundRobin);
}
BENCHMARK(BM_RoundRobinPick)->Arg(10)->Arg(100)->Arg(1000);
BENCHMARK(BM_WeightedRoundRobinPick)->Arg(10)->Arg(100)->Arg(1000);

}  // namespace
}  // namespace switchyard::routing
