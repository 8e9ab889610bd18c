#pragma once
// A worker's view of one cluster: the snapshot it routes on, an UpstreamHost per endpoint (with
// its pool and figures), the worker's own load-balancer state, and the hosts that left the set
// but still drain requests. Worker thread only.
//
// Deploy safety lives here too, per worker: the retry budget, outlier detection (ejection), and
// the weights the balancer sees. The balancer routes on a worker-local copy of the snapshot
// whose Endpoint::weight_factor is 0 for an ejected or unhealthy endpoint (unless fewer than
// panic_threshold_percent of the endpoints are healthy: then every one takes traffic) and ramps
// over slow_start_ms for an endpoint that joined after the first snapshot, from its first
// accepted connection. An endpoint that has never accepted a connection and was refused is
// "starting" (OutlierDetector): weight 0 during its short back-off, never ejected for it.

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/random.h"
#include "common/time_source.h"
#include "proxy/outlier_detector.h"
#include "proxy/retry_budget.h"
#include "proxy/stats.h"
#include "proxy/upstream_host.h"
#include "routing/adaptive_timeout.h"
#include "routing/cluster_snapshot.h"
#include "routing/hash_key.h"
#include "routing/load_balancer.h"

namespace switchyard::proxy {

class ClusterRuntime {
 public:
  ClusterRuntime(std::shared_ptr<const routing::ClusterSnapshot> snapshot, Random& random,
                 const TimeSource& time);

  // Swaps in a new snapshot of the same cluster: hosts that stay keep their pools and figures,
  // new ones are added, missing ones depart (drain).
  void update(std::shared_ptr<const routing::ClusterSnapshot> snapshot);

  const routing::ClusterSnapshot& snapshot() const { return *snapshot_; }
  const config::Cluster& config() const { return *snapshot_->config; }
  const std::string& name() const { return snapshot_->config->name; }

  // The request's key hash for ring_hash / maglev (hash_on, parsed once per configuration), or
  // none when the cluster does not hash or the request has no key.
  std::optional<uint64_t> hashKey(const routing::RequestHeaders& headers,
                                  std::string_view client_ip) const {
    return hash_key_.compute(headers, client_ip);
  }

  // A host to send a request to, or null when none can take it. `hash` is hashKey()'s answer;
  // `exclude` avoids one host (the one that just failed) when another exists.
  std::shared_ptr<UpstreamHost> pick(std::optional<uint64_t> hash = std::nullopt,
                                     const UpstreamHost* exclude = nullptr);

  // Outcomes, for outlier detection: a connect failure, a timeout or a 5xx answer counts against
  // the host, any other answer clears its run of failures. A failure of a host that never
  // accepted a connection on this worker only backs it off (starting).
  void recordFailure(UpstreamHost& host);
  // A connection to the host was made (or a pooled one used): the first one ends "starting"
  // and starts its slow-start ramp.
  void recordConnected(UpstreamHost& host) {
    if (!host.outlier.connected_once) firstConnection(host);
  }
  // The per-try deadline of idempotent requests when retries.per_try_timeout_ms is auto, and
  // the latencies it learns from.
  routing::AdaptiveTimeout& adaptiveTimeout() { return adaptive_timeout_; }
  void recordSuccess(UpstreamHost& host) { detector_.onSuccess(host.outlier); }
  // A final answer's status: 5xx counts as a failure, anything else as a success.
  void recordAnswer(UpstreamHost& host, unsigned status) {
    if (status >= 500)
      recordFailure(host);
    else
      recordSuccess(host);
  }
  RetryBudget& retryBudget() { return budget_; }
  // retries.on, parsed once per configuration.
  bool retryOnReset() const { return retry_on_reset_; }
  bool retryOnStatus(unsigned status) const {
    for (unsigned s : retry_statuses_)
      if (s == status) return true;
    return false;
  }
  bool panicking() const { return panic_; }

  // Every worker tick (50 ms): ends ejections whose time is over and moves slow starts on.
  void updateWeights(TimePoint now);

  // Periodic upkeep: closes idle connections older than the cluster's idle timeout and forgets
  // departed hosts that have nothing left in flight.
  void tick(TimePoint now);
  // Closes every idle pooled connection (the gateway is shutting down).
  void closeIdle();

  void addStats(ClusterStats& out) const;

  uint64_t no_instance = 0;
  uint64_t retries = 0;
  // Tries that reached their adaptive per-try deadline (moved, or left to the request's).
  uint64_t try_timeouts = 0;

 private:
  // Rebuilds the balancer's view (weight factors) from the hosts' states.
  void rebuildView(TimePoint now);
  void firstConnection(UpstreamHost& host);

  const TimeSource& time_;
  std::shared_ptr<const routing::ClusterSnapshot> snapshot_;
  // What the balancer routes on, and the one before (a balancer may point into its previous
  // snapshot until the next update()).
  std::shared_ptr<routing::ClusterSnapshot> view_;
  std::shared_ptr<routing::ClusterSnapshot> previous_view_;
  TimePoint view_built_at_{};
  RetryBudget budget_;
  OutlierDetector detector_;
  routing::AdaptiveTimeout adaptive_timeout_;
  bool retry_on_reset_ = false;
  std::vector<unsigned> retry_statuses_;
  size_t ejected_ = 0;
  size_t backing_off_ = 0;    // starting hosts in their back-off
  TimePoint backoff_ends_{};  // the first of their back-offs to end
  size_t slow_starting_ = 0;
  bool panic_ = false;
  std::vector<std::shared_ptr<UpstreamHost>> hosts_;  // parallel to snapshot_->endpoints
  std::vector<const routing::EndpointLoad*> loads_;   // &hosts_[i]->load, for the balancer
  std::unique_ptr<routing::LoadBalancer> lb_;
  routing::HashKey hash_key_;
  std::map<std::string, std::shared_ptr<UpstreamHost>> departed_;
  // Figures of hosts forgotten after draining, so cluster totals never go backwards.
  InstanceStats retired_;
};

}  // namespace switchyard::proxy
