#pragma once
// The retry decisions every upstream exchange makes the same way, whatever the downstream
// protocol (README, "Deploy safety"): which failures may move a request to another instance,
// and when the budget is spent. Worker thread only.

#include <cstdint>
#include <string_view>

#include "common/time_source.h"

namespace switchyard::proxy {

class ClusterRuntime;

// GET, HEAD, OPTIONS, TRACE, PUT, DELETE (RFC 9110 9.2.2); `method` as sent, case-sensitive.
bool isIdempotentMethod(std::string_view method);

enum class TryFailure {
  kConnect,  // the connection to the instance failed: nothing reached it
  kReset,    // the connection ended before any response byte
  kTimeout,  // the per-try timeout passed before any response byte
  kStatus,   // the instance answered a status listed in retries.on
};

// What an exchange knows about its request when a try fails.
struct TryState {
  bool response_started = false;  // a byte of the response went to the client
  bool replay_ok = true;          // every request byte written so far can be sent again
  bool idempotent = false;
  bool request_done = false;  // the whole request was written to the instance
  bool was_reused = false;    // the failed try ran on a pooled keep-alive connection
  uint32_t attempts = 0;      // retries made so far
  TimePoint request_deadline = TimePoint::max();
};

// True when `why` allows another try now. A connect failure spends no budget (it reached no
// instance); any other retry is taken from the cluster's retry budget, so a true answer must
// be followed by the retry.
bool mayRetry(ClusterRuntime& cluster, TryFailure why, const TryState& state, TimePoint now);

}  // namespace switchyard::proxy
