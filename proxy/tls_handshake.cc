#include "proxy/tls_handshake.h"

#include <spdlog/spdlog.h>

#include "proxy/h2_server_session.h"
#include "proxy/http1_session.h"
#include "proxy/tls_server_context.h"
#include "proxy/worker.h"

namespace switchyard::proxy {

TlsHandshake::TlsHandshake(Worker& worker, uint32_t listener_index,
                           boost::asio::ip::tcp::socket socket,
                           std::shared_ptr<const TlsServerContext> tls)
    : worker_(worker),
      listener_index_(listener_index),
      stats_(worker.listenerStats(listener_index)),
      stream_(std::move(socket), std::move(tls)) {
  registration_ = worker_.registerSession(this);
  // Counted as open so that max_connections bounds connections still handshaking too.
  ++stats_.connections_open;
}

TlsHandshake::~TlsHandshake() {
  --stats_.connections_open;
  worker_.unregisterSession(registration_);
}

void TlsHandshake::start() {
  const uint32_t ms =
      worker_.snapshot().config->listeners[listener_index_].limits.header_timeout_ms;
  deadline_ = Clock::now() + std::chrono::milliseconds(ms);
  stream_.asyncHandshake(
      [self = shared_from_this()](boost::system::error_code ec) { self->onHandshake(ec); });
}

void TlsHandshake::checkDeadline(TimePoint now) {
  if (done_ || now < deadline_) return;
  ++stats_.tls_handshake_timeouts;
  abort();
}

void TlsHandshake::abort() {
  if (done_) return;
  done_ = true;
  deadline_ = TimePoint::max();
  stream_.close();
}

void TlsHandshake::onHandshake(boost::system::error_code ec) {
  if (done_) return;  // timed out or drained meanwhile
  done_ = true;
  if (ec) {
    ++stats_.tls_handshake_failures;
    SPDLOG_DEBUG("tls handshake failed: {}", stream_.describeError(ec));
    stream_.close();
    return;
  }
  ++stats_.tls_handshakes;
  const std::string_view alpn = stream_.alpnProtocol();
  if (alpn == "h2") {
    ++stats_.connections_accepted;  // H2ServerSession leaves that to its creator
    std::make_shared<H2ServerSession>(worker_, listener_index_, std::move(stream_),
                                      std::string_view())
        ->start();
    return;
  }
  // "http/1.1", or no ALPN at all (an HTTP/1.1 client that does not use it).
  std::make_shared<Http1Session>(worker_, listener_index_, std::move(stream_))->start();
}

}  // namespace switchyard::proxy
