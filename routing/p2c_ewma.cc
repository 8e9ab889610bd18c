#include "routing/p2c_ewma.h"

#include <cmath>

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

bool P2cEwma::cheaper(const EndpointLoad& b, double wb, const EndpointLoad& a, double wa) {
  if (!a.sampled || !b.sampled) {
    const TimePoint same{};  // no decay applies to an unsampled side; any common time will do
    return cost(b, wb, a.sampled ? a.ewma_at : same) < cost(a, wa, b.sampled ? b.ewma_at : same);
  }
  // Both estimates decay by the same factor exp(-now / tau) when read: it cancels, so only the
  // gap between the two samples' times matters, and the cheaper side is known without reading
  // the clock. The older estimate is decayed to the newer one's time (exp of a value <= 0).
  const double fa = static_cast<double>(a.in_flight) / wa + 1.0;
  const double fb = static_cast<double>(b.in_flight) / wb + 1.0;
  const double gap = std::chrono::duration<double>(b.ewma_at - a.ewma_at).count() /
                     std::chrono::duration<double>(kPeakEwmaDecay).count();
  if (gap >= 0) return b.ewma_latency_us * fb < a.ewma_latency_us * std::exp(-gap) * fa;
  return b.ewma_latency_us * std::exp(gap) * fb < a.ewma_latency_us * fa;
}

int P2cEwma::pick(const PickContext& ctx, int exclude) {
  if (sampler_.empty()) return -1;
  if (sampler_.size() == 1) return sampler_.only();
  const int a = sampler_.draw(random_, exclude);
  const int b = sampler_.draw(random_, exclude, a);
  if (b == a || b == exclude || ctx.load.empty()) return a;
  return cheaper(*ctx.load[static_cast<size_t>(b)], sampler_.weight(b),
                 *ctx.load[static_cast<size_t>(a)], sampler_.weight(a))
             ? b
             : a;
}

}  // namespace switchyard::routing
