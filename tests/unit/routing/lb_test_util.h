#pragma once
// Shared by the load-balancer tests: snapshots with given weights, a worker-like load table, and
// share checks with bounds derived from the binomial spread.

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "routing/load_balancer.h"

namespace switchyard::routing::testing {

// Endpoints "10.0.0.1:80", "10.0.0.2:80"... with these weights (ids sort like the snapshot's).
inline ClusterSnapshot snapshotWithWeights(const std::vector<double>& weights) {
  ClusterSnapshot s;
  for (size_t i = 0; i < weights.size(); ++i) {
    Endpoint e;
    char id[32];
    std::snprintf(id, sizeof id, "10.0.%zu.%zu:80", i / 200, i % 200 + 1);
    e.id = id;
    e.weight = weights[i];
    s.endpoints.push_back(e);
  }
  return s;
}

// What a ClusterRuntime keeps: one EndpointLoad per endpoint, and the pointer view pick() gets.
struct LoadTable {
  explicit LoadTable(size_t n) : loads(n) {
    for (auto& l : loads) pointers.push_back(&l);
  }
  PickContext context() const {
    PickContext ctx;
    ctx.load = pointers;
    return ctx;
  }
  std::vector<EndpointLoad> loads;
  std::vector<const EndpointLoad*> pointers;
};

inline std::map<int, int> countPicks(LoadBalancer& lb, const PickContext& ctx, int n,
                                     int exclude = -1) {
  std::map<int, int> count;
  for (int i = 0; i < n; ++i) ++count[lb.pick(ctx, exclude)];
  return count;
}

// Each endpoint's count is within `sigmas` binomial standard deviations of its weight's share.
inline void expectSharesFollowWeights(const std::map<int, int>& count,
                                      const std::vector<double>& weights, int n,
                                      double sigmas = 5) {
  double total = 0;
  for (double w : weights) total += w;
  for (size_t i = 0; i < weights.size(); ++i) {
    const double p = weights[i] / total;
    const double expected = p * n;
    const double spread = sigmas * std::sqrt(n * p * (1 - p)) + 1;
    const auto it = count.find(static_cast<int>(i));
    const double got = it == count.end() ? 0 : it->second;
    EXPECT_NEAR(got, expected, spread) << "endpoint " << i << " of weight " << weights[i];
  }
}

}  // namespace switchyard::routing::testing
