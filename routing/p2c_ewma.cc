#include "routing/p2c_ewma.h"

namespace switchyard::routing {

namespace {
// Finagle's penalty for an endpoint with requests in flight and no answer yet: above any real
// latency (in microseconds), so such an endpoint loses to every sampled one.
constexpr double kUnsampledPenalty = 1e12;
}  // namespace

void P2cEwma::update(const ClusterSnapshot& snapshot) { sampler_.build(snapshot); }

double P2cEwma::cost(const EndpointLoad& load, double weight, TimePoint now) {
  const double in_flight = static_cast<double>(load.in_flight);
  if (!load.sampled) return in_flight == 0 ? 0.0 : kUnsampledPenalty + in_flight / weight;
  return currentLatencyUs(load, now) * (in_flight / weight + 1.0);
}

int P2cEwma::pick(const PickContext& ctx, int exclude) {
  if (sampler_.empty()) return -1;
  if (sampler_.size() == 1) return sampler_.only();
  const int a = sampler_.draw(random_, exclude);
  const int b = sampler_.draw(random_, exclude, a);
  if (b == a || b == exclude || ctx.load.empty()) return a;
  const TimePoint now = time_.now();
  const double ca = cost(*ctx.load[static_cast<size_t>(a)], sampler_.weight(a), now);
  const double cb = cost(*ctx.load[static_cast<size_t>(b)], sampler_.weight(b), now);
  return cb < ca ? b : a;
}

}  // namespace switchyard::routing
