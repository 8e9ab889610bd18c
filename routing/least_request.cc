#include "routing/least_request.h"

namespace switchyard::routing {

void LeastRequest::update(const ClusterSnapshot& snapshot) { sampler_.build(snapshot); }

int LeastRequest::pick(const PickContext& ctx, int exclude) {
  if (sampler_.empty()) return -1;
  if (sampler_.size() == 1) return sampler_.only();
  const int a = sampler_.draw(random_, exclude);
  const int b = sampler_.draw(random_, exclude, a);
  // Fewer than three candidates with one excluded: only one choice is left.
  if (b == a || b == exclude || ctx.load.empty()) return a;
  const auto ia = static_cast<double>(ctx.load[static_cast<size_t>(a)]->in_flight);
  const auto ib = static_cast<double>(ctx.load[static_cast<size_t>(b)]->in_flight);
  // in_flight_b / w_b < in_flight_a / w_a, without the divisions.
  return ib * sampler_.weight(a) < ia * sampler_.weight(b) ? b : a;
}

}  // namespace switchyard::routing
