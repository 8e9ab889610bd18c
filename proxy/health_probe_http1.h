#pragma once
// The HTTP/1.1 health probe of an http1 cluster: connect (and, with the cluster's tls:, the TLS
// handshake with ALPN http/1.1), `GET path` with `Connection: close`, read the response head,
// close. The bytes go through a ClientStream, the same as the workers' upstream connections, so
// a probe meets the instance exactly as traffic does (SNI, verified name, CA).
//
// A fresh connection per probe, as HAProxy's checks and discovery::HealthProbe (the announcer's
// cleartext probe) do: an HTTP/1.1 connection carries one probe at a time anyway, and a new one
// each interval also proves the instance still accepts and handshakes.
//
// Control thread only (the io_context given at construction).

#include <memory>

#include "proxy/health_probe_session.h"

namespace switchyard::proxy {

class HealthProbeHttp1 final : public HealthProbeSession {
 public:
  explicit HealthProbeHttp1(boost::asio::io_context& io);
  ~HealthProbeHttp1() override;
  HealthProbeHttp1(const HealthProbeHttp1&) = delete;
  HealthProbeHttp1& operator=(const HealthProbeHttp1&) = delete;

  void get(const ProbeTarget& target, std::chrono::milliseconds timeout, Callback done) override;
  void cancel() override;
  uint64_t connectionsOpened() const override { return connections_; }

 private:
  struct Exchange;

  boost::asio::io_context& io_;
  std::shared_ptr<Exchange> pending_;
  uint64_t connections_ = 0;
};

}  // namespace switchyard::proxy
