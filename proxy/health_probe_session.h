#pragma once
// One endpoint's active health probe, in the protocol its cluster speaks to it (what Envoy's
// health checkers get from the cluster's transport socket and codec, and HAProxy from `check-ssl`
// and `check-proto h2`):
//   http1            GET over TCP                       HealthProbeHttp1
//   http1 + tls:     GET over TLS, ALPN http/1.1        HealthProbeHttp1
//   h2c              GET as an HTTP/2 stream, prior knowledge        HealthProbeH2
//   h2               GET as an HTTP/2 stream over TLS, ALPN h2       HealthProbeH2
// TLS uses the cluster's client context (its CA, SNI and verification, `verify: false`
// honoured): a certificate that fails verification is a failed probe whose reason says so.
// The answer is the status (2xx = healthy) or why there was none, as discovery::HealthOutcome.
//
// HealthChecker owns one session per endpoint. Control thread only (the io_context given to
// create()); every callback runs there, always asynchronously.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "config/config.h"
#include "discovery/health_probe.h"
#include "proxy/h2_client_connection.h"

namespace switchyard::proxy {

class TlsClientContext;

// Where and what to probe.
struct ProbeTarget {
  std::string id;                          // the endpoint's "host:port": SNI, verified name, Host
  boost::asio::ip::tcp::endpoint address;  // where to connect
  std::string path = "/health";            // the request target
  // The cluster's TLS client context; null = cleartext (http1 without tls:, h2c).
  std::shared_ptr<const TlsClientContext> tls;
  // Non-empty: the probe cannot be made (the cluster's TLS context could not be built) and
  // fails with this reason, asynchronously like any other failure.
  std::string unusable;

  // The Host header / :authority: the TLS server_name when one is configured (the name the
  // instance serves under), else the endpoint's id.
  std::string authority() const;
  // The HTTP/2 request: the pseudo-headers (:scheme https under TLS) and a user-agent.
  H2Headers h2Request() const;
  // An unconnected stream towards the endpoint: TLS with the cluster's context, or plain.
  ClientStream stream(boost::asio::io_context& io) const;
};

class HealthProbeSession {
 public:
  using Callback = std::function<void(discovery::HealthOutcome outcome)>;

  // The session for a cluster speaking `protocol` (tls or not is the target's business).
  static std::unique_ptr<HealthProbeSession> create(boost::asio::io_context& io,
                                                    config::UpstreamProtocol protocol);

  // Destruction cancels a pending GET without calling it back.
  virtual ~HealthProbeSession() = default;

  // Calls `done` exactly once, always asynchronously, within about `timeout`, which covers the
  // connect, the TLS handshake and the answer. One GET at a time: a new get() cancels the
  // pending one, whose callback is then never called.
  virtual void get(const ProbeTarget& target, std::chrono::milliseconds timeout, Callback done) = 0;

  // Drops the pending GET, if any, without calling it back.
  virtual void cancel() = 0;

  // Connections opened so far (a kept HTTP/2 connection counts once; for tests and logs).
  virtual uint64_t connectionsOpened() const = 0;
};

}  // namespace switchyard::proxy
