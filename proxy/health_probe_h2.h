#pragma once
// The HTTP/2 health probe of an h2c or h2 cluster: `GET path` as one stream on an
// H2ClientConnection (the workers' HTTP/2 client), prior knowledge for h2c, TLS with ALPN h2 for
// h2. The final response head's status is the verdict (2xx = healthy); the body is read to its
// end and dropped, so that a probe ends its stream cleanly rather than with a RST_STREAM.
//
// One connection per endpoint, kept across probes (what Envoy's HTTP health checker does with
// reuse_connection, its default): an HTTP/2 instance expects long-lived connections, and a TLS
// handshake per endpoint per interval would cost the instance more than the probes themselves.
// A connection that is closed or has had a GOAWAY (an instance restarting, a max-requests limit)
// is simply replaced by a new one at the next probe; so is one whose probe timed out (it may be
// hung), and one made with an older TLS context (a reload). A probe without an answer (timed
// out, reset, connection lost) closes the connection: the next one starts from a new connection,
// which proves the instance still accepts and handshakes.
//
// Control thread only (the io_context given at construction).

#include <cstdint>
#include <memory>

#include "proxy/health_probe_session.h"

namespace switchyard::proxy {

class HealthProbeH2 final : public HealthProbeSession, private H2StreamHandler {
 public:
  explicit HealthProbeH2(boost::asio::io_context& io);
  // Cancels the pending probe and closes the connection.
  ~HealthProbeH2() override;
  HealthProbeH2(const HealthProbeH2&) = delete;
  HealthProbeH2& operator=(const HealthProbeH2&) = delete;

  void get(const ProbeTarget& target, std::chrono::milliseconds timeout, Callback done) override;
  void cancel() override;
  uint64_t connectionsOpened() const override { return connections_; }

 private:
  // The connection for `target`: the kept one when it can take a stream and was made for the
  // same address and TLS context, else a new one.
  H2ClientConnection& connectionFor(const ProbeTarget& target, std::chrono::milliseconds timeout);
  // Ends the pending probe: runs its callback (posted: never from inside get() or the
  // connection's handlers). A failed probe closes the connection.
  void finish(discovery::HealthOutcome outcome);
  void dropConnection();

  // H2StreamHandler (the pending probe's stream).
  void onH2Head(unsigned status, const H2Headers& headers, bool end_stream) override;
  void onH2Data(std::string_view data) override;
  void onH2Trailers(const H2Headers&) override {}
  void onH2End() override;
  void onH2Fail(H2Failure failure, uint32_t code, std::string_view detail) override;
  void onH2BodyWritable() override {}

  boost::asio::io_context& io_;
  boost::asio::steady_timer timer_;
  std::shared_ptr<H2ClientConnection> conn_;
  boost::asio::ip::tcp::endpoint conn_address_;
  std::shared_ptr<const TlsClientContext> conn_tls_;
  int32_t stream_ = 0;  // the pending probe's stream; 0 when none is open
  unsigned status_ = 0;
  Callback done_;  // the pending probe's callback; empty when none is pending
  // Bumped by every get() and cancel(): a posted outcome of an older probe is dropped.
  uint64_t generation_ = 0;
  uint64_t connections_ = 0;
  // Cleared by the destructor: a posted outcome finds no probe.
  std::shared_ptr<HealthProbeH2*> alive_;
};

}  // namespace switchyard::proxy
