#include "proxy/retry_rules.h"

#include "proxy/cluster_runtime.h"

namespace switchyard::proxy {

bool isIdempotentMethod(std::string_view m) {
  return m == "GET" || m == "HEAD" || m == "OPTIONS" || m == "TRACE" || m == "PUT" ||
         m == "DELETE";
}

bool mayRetry(ClusterRuntime& cluster, TryFailure why, const TryState& s, TimePoint now) {
  if (s.response_started || !s.replay_ok) return false;
  if (s.attempts >= cluster.config().retries.attempts) return false;
  switch (why) {
    case TryFailure::kConnect:
    case TryFailure::kStatus:
      break;
    case TryFailure::kReset:
      // A reused connection the instance had closed is the keep-alive race: safe to repeat.
      if (!s.idempotent || !(cluster.retryOnReset() || s.was_reused)) return false;
      break;
    case TryFailure::kTimeout:
      if (!s.idempotent || !s.request_done) return false;
      break;
  }
  if (now >= s.request_deadline) return false;
  return why == TryFailure::kConnect || cluster.retryBudget().tryRetry(now);
}

}  // namespace switchyard::proxy
