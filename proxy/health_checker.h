#pragma once
// Active health checks: for every cluster with a `health_check`, an HTTP GET of its path on
// every endpoint each interval_ms, in the protocol the cluster speaks to its instances
// (HealthProbeSession: HTTP/1.1, over TLS with tls:, HTTP/2 for h2c and h2) with timeout_ms for
// the connect, the handshake and the answer. An endpoint turns unhealthy after unhealthy_after
// failures in a row (no answer, a TLS failure such as a certificate that fails verification, or
// not 2xx) and healthy again after healthy_after successes. A new endpoint is healthy until
// proven otherwise (a deploy's new instances take traffic at once; outlier detection and
// retries cover a bad one). The reason is logged once per change of verdict.
//
// The TLS client context of a cluster with tls: (or protocol h2) is the checker's own, built
// like the workers' (TlsClientContext::forCluster) whenever the cluster's configuration is
// replaced (a reload), so a reloaded CA is used by the next connection. If it cannot be built,
// the previous one is kept while the settings are the same; otherwise every probe fails with
// the reason (the workers have no context either: the instances cannot be reached).
//
// The verdicts reach the workers in the snapshots: decorate() marks Endpoint::healthy = false
// on the endpoints that fail, and a change of verdict calls `on_change` so that the owner
// publishes again. Control thread only, like every method.

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "discovery/health_probe.h"
#include "proxy/health_probe_session.h"
#include "routing/routing_snapshot.h"

namespace switchyard::proxy {

class HealthChecker {
 public:
  HealthChecker(boost::asio::io_context& control, std::function<void()> on_change);
  ~HealthChecker();
  HealthChecker(const HealthChecker&) = delete;
  HealthChecker& operator=(const HealthChecker&) = delete;

  // Follows the snapshot's clusters and endpoints (new ones probed, gone ones forgotten) and
  // returns it with the current verdicts (the same pointer when every endpoint is healthy;
  // a cluster snapshot is copied only when one of its endpoints is not, and the copy is reused
  // while nothing changes).
  std::shared_ptr<const routing::RoutingSnapshot> decorate(
      std::shared_ptr<const routing::RoutingSnapshot> snapshot);

  // Stops every probe and the timer, and closes the probes' connections (the gateway shuts
  // down). decorate() then passes snapshots through, and every endpoint counts as healthy.
  void stop();

  // Endpoints of `cluster` currently unhealthy (for logs and tests).
  size_t unhealthyCount(const std::string& cluster) const;

 private:
  struct Target {
    std::unique_ptr<HealthProbeSession> probe;
    ProbeTarget where;
    bool probing = false;
    bool healthy = true;
    uint32_t successes = 0;  // in a row
    uint32_t failures = 0;   // in a row
    std::chrono::steady_clock::time_point next{};
  };
  struct ClusterChecks {
    config::HealthCheck config;
    // How the instances are spoken to; a change starts the checks over.
    config::UpstreamProtocol protocol = config::UpstreamProtocol::kHttp1;
    std::optional<config::UpstreamTls> tls_settings;
    // The TLS client context (null: cleartext, or it could not be built: tls_error says why),
    // and the cluster configuration it was built for.
    std::shared_ptr<const TlsClientContext> tls;
    std::string tls_error;
    std::shared_ptr<const config::Cluster> tls_source;
    std::map<std::string, std::unique_ptr<Target>> targets;  // by endpoint id
    uint64_t verdicts = 0;                                   // bumped on every change of verdict
    // The last decorated copy, and what it was made from.
    const routing::ClusterSnapshot* source = nullptr;
    uint64_t source_verdicts = 0;
    std::shared_ptr<const routing::ClusterSnapshot> decorated;
  };

  // Follows the cluster's protocol and TLS settings; true when the checks start over.
  bool followTransport(ClusterChecks& c, const std::shared_ptr<const config::Cluster>& cluster);
  void arm();
  void onTimer();
  void onOutcome(const std::string& cluster, const std::string& id,
                 const discovery::HealthOutcome& outcome);

  boost::asio::io_context& control_;
  std::function<void()> on_change_;
  boost::asio::steady_timer timer_;
  std::map<std::string, ClusterChecks> clusters_;  // by cluster name
  bool stopped_ = false;
  bool armed_ = false;
};

}  // namespace switchyard::proxy
