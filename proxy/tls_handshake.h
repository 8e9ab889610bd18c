#pragma once
// An accepted connection of an https listener during its TLS handshake: the handshake must be
// done within the listener's header_timeout_ms (else the connection is closed and counted), a
// failed one (plain HTTP sent to the TLS port, a client with no common protocol or cipher)
// closes this connection only and is counted; once done, the protocol ALPN selected decides the
// session that takes the connection over ("h2": H2ServerSession, else Http1Session).
// Registered with its worker like any session, so the tick enforces the
// deadline and a drain closes it. Worker thread only.

#include <boost/asio/ip/tcp.hpp>
#include <list>
#include <memory>

#include "common/time_source.h"
#include "proxy/client_stream.h"
#include "proxy/downstream_session.h"

namespace switchyard::proxy {

class Worker;
class TlsServerContext;
struct ListenerStats;

class TlsHandshake final : public DownstreamSession,
                           public std::enable_shared_from_this<TlsHandshake> {
 public:
  TlsHandshake(Worker& worker, uint32_t listener_index, boost::asio::ip::tcp::socket socket,
               std::shared_ptr<const TlsServerContext> tls);
  ~TlsHandshake() override;

  void start();
  // Nothing was asked yet: a drain closes the connection.
  void drain() override { abort(); }
  void checkDeadline(TimePoint now) override;
  void abort() override;

 private:
  void onHandshake(boost::system::error_code ec);

  Worker& worker_;
  const uint32_t listener_index_;
  ListenerStats& stats_;
  ClientStream stream_;
  std::list<DownstreamSession*>::iterator registration_;
  TimePoint deadline_ = TimePoint::max();
  bool done_ = false;
};

}  // namespace switchyard::proxy
