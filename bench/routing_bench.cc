// Hot functions of the request path in routing: route match and load-balancer pick.
// Run: build-*/bench/routing_bench  (target: a pick under 100 ns at 1,000 endpoints; the ring and
// table rebuilds are measured separately).

#include <benchmark/benchmark.h>

#include <string>

#include "common/random.h"
#include "common/time_source.h"
#include "routing/hash64.h"
#include "routing/hash_key.h"
#include "routing/hash_ring.h"
#include "routing/load_balancer.h"
#include "routing/maglev_table.h"
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

// As ClusterManager publishes it for a ring_hash or maglev cluster: with the shared ring / table.
ClusterSnapshot sharedSnapshot(int n, config::LoadBalancerKind kind) {
  ClusterSnapshot s = snapshot(n, true);
  if (kind == config::LoadBalancerKind::kRingHash) s.ring = HashRing::build(s.endpoints);
  if (kind == config::LoadBalancerKind::kMaglev) s.maglev = MaglevTable::build(s.endpoints);
  return s;
}

// A worker's live figures: some requests in flight, every endpoint with a latency sample.
struct Loads {
  Loads(size_t n, TimePoint now) : loads(n) {
    for (size_t i = 0; i < n; ++i) {
      loads[i].in_flight = static_cast<uint32_t>(i % 5);
      observeLatency(loads[i], 500.0 + static_cast<double>(i % 7) * 100, now);
      pointers.push_back(&loads[i]);
    }
  }
  std::vector<EndpointLoad> loads;
  std::vector<const EndpointLoad*> pointers;
};

// One pick as the worker makes it: with live figures, and for the hashing policies a different
// key each time (1,024 keys in turn, so the ring or table is not one cached line).
void pickBench(benchmark::State& state, config::LoadBalancerKind kind) {
  Random random(1);
  SystemTimeSource time;
  const auto n = static_cast<size_t>(state.range(0));
  auto s = sharedSnapshot(static_cast<int>(n), kind);
  auto lb = makeLoadBalancer(kind, random, time);
  lb->update(s);
  Loads loads(n, time.now());
  std::vector<uint64_t> keys(1024);
  for (size_t i = 0; i < keys.size(); ++i) keys[i] = hashBytes("user-" + std::to_string(i));
  PickContext ctx;
  ctx.load = loads.pointers;
  const bool hashing =
      kind == config::LoadBalancerKind::kRingHash || kind == config::LoadBalancerKind::kMaglev;
  size_t k = 0;
  for (auto _ : state) {
    if (hashing) {
      ctx.hash = keys[k++ & 1023];
      ctx.has_hash = true;
    }
    benchmark::DoNotOptimize(lb->pick(ctx));
  }
}

void BM_RoundRobinPick(benchmark::State& state) {
  pickBench(state, config::LoadBalancerKind::kRoundRobin);
}
void BM_WeightedRoundRobinPick(benchmark::State& state) {
  pickBench(state, config::LoadBalancerKind::kWeightedRoundRobin);
}
void BM_LeastRequestPick(benchmark::State& state) {
  pickBench(state, config::LoadBalancerKind::kLeastRequest);
}
void BM_P2cEwmaPick(benchmark::State& state) {
  pickBench(state, config::LoadBalancerKind::kP2cEwma);
}
void BM_RingHashPick(benchmark::State& state) {
  pickBench(state, config::LoadBalancerKind::kRingHash);
}
void BM_MaglevPick(benchmark::State& state) { pickBench(state, config::LoadBalancerKind::kMaglev); }
BENCHMARK(BM_RoundRobinPick)->Arg(10)->Arg(100)->Arg(1000);
BENCHMARK(BM_WeightedRoundRobinPick)->Arg(10)->Arg(100)->Arg(1000);
BENCHMARK(BM_LeastRequestPick)->Arg(10)->Arg(100)->Arg(1000);
BENCHMARK(BM_P2cEwmaPick)->Arg(10)->Arg(100)->Arg(1000);
BENCHMARK(BM_RingHashPick)->Arg(10)->Arg(100)->Arg(1000);
BENCHMARK(BM_MaglevPick)->Arg(10)->Arg(100)->Arg(1000);

// update(): what a worker spends when a snapshot of the cluster arrives. The hashing policies
// read the ring or table the snapshot carries (noting which endpoints they may use); the others
// rebuild their candidate lists. "OwnBuild" is the fallback a worker pays only while an endpoint
// ramps up in slow start (a fractional weight factor): the ring or table built by the worker.
void updateBench(benchmark::State& state, config::LoadBalancerKind kind, bool shared) {
  Random random(1);
  SystemTimeSource time;
  const int n = static_cast<int>(state.range(0));
  auto s = shared ? sharedSnapshot(n, kind) : snapshot(n, true);
  auto lb = makeLoadBalancer(kind, random, time);
  for (auto _ : state) {
    lb->update(s);
    benchmark::ClobberMemory();
  }
}
void BM_RingHashWorkerUpdate(benchmark::State& state) {
  updateBench(state, config::LoadBalancerKind::kRingHash, true);
}
void BM_MaglevWorkerUpdate(benchmark::State& state) {
  updateBench(state, config::LoadBalancerKind::kMaglev, true);
}
void BM_RingHashOwnBuild(benchmark::State& state) {
  updateBench(state, config::LoadBalancerKind::kRingHash, false);
}
void BM_MaglevOwnBuild(benchmark::State& state) {
  updateBench(state, config::LoadBalancerKind::kMaglev, false);
}
void BM_LeastRequestRebuild(benchmark::State& state) {
  updateBench(state, config::LoadBalancerKind::kLeastRequest, false);
}
BENCHMARK(BM_RingHashWorkerUpdate)->Arg(10)->Arg(100)->Arg(1000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_MaglevWorkerUpdate)->Arg(10)->Arg(100)->Arg(1000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_RingHashOwnBuild)->Arg(10)->Arg(100)->Arg(1000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_MaglevOwnBuild)->Arg(10)->Arg(100)->Arg(1000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_LeastRequestRebuild)->Arg(10)->Arg(100)->Arg(1000)->Unit(benchmark::kMicrosecond);

// The control thread's side: one build per change of a ring_hash / maglev cluster's set, shared
// by every worker (ClusterManager).
void BM_HashRingBuild(benchmark::State& state) {
  auto s = snapshot(static_cast<int>(state.range(0)), true);
  for (auto _ : state) benchmark::DoNotOptimize(HashRing::build(s.endpoints));
}
void BM_MaglevTableBuild(benchmark::State& state) {
  auto s = snapshot(static_cast<int>(state.range(0)), true);
  for (auto _ : state) benchmark::DoNotOptimize(MaglevTable::build(s.endpoints));
}
BENCHMARK(BM_HashRingBuild)->Arg(10)->Arg(100)->Arg(1000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_MaglevTableBuild)->Arg(10)->Arg(100)->Arg(1000)->Unit(benchmark::kMicrosecond);

// The request's key: the header looked up and hashed (done once per request, before the pick).
void BM_HashKeyHeader(benchmark::State& state) {
  auto key = *HashKey::parse("header:x-user-id");
  class UserHeader final : public RequestHeaders {
   public:
    std::optional<std::string_view> get(std::string_view name) const override {
      if (name == "x-user-id") return std::string_view("7d3f9a2c-user-000042");
      return std::nullopt;
    }
  } headers;
  for (auto _ : state) benchmark::DoNotOptimize(key.compute(headers, "10.1.2.3"));
}
BENCHMARK(BM_HashKeyHeader);

}  // namespace
}  // namespace switchyard::routing
