#pragma once
// The byte stream of one connection: plain TCP, or TLS over it (OpenSSL through asio::ssl).
// A client connection's sessions (Http1Session, the HTTP/2 session) read and write through it,
// and so does an upstream connection (UpstreamConnection::stream), so that one session's code
// serves http and https listeners, and plain and TLS instances.
//
// It is an asio AsyncReadStream / AsyncWriteStream (async_read_some, async_write_some,
// get_executor), plus what a session needs besides: a whole-sequence write, the TLS handshake,
// an ending that sends close_notify, the TCP socket underneath. Handlers are template
// parameters: the plain path is one branch and the socket's own operation (no std::function, no
// allocation of ours); the TLS path adds one shared_ptr copy per operation.
//
// Lifetime: the TLS state lives in a shared_ptr that every pending TLS operation holds, so that
// a ClientStream may be destroyed (or moved from) with operations pending, as a plain socket
// may: destruction and close() close the socket, and the pending handlers run with an error.
// One read and one write may be pending at once (TLS serialises them inside asio::ssl).
// Thread: the owning worker's only.

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace switchyard::proxy {

class TlsServerContext;
class TlsClientContext;

class ClientStream {
 public:
  using Socket = boost::asio::ip::tcp::socket;
  using TlsStream = boost::asio::ssl::stream<Socket>;
  using executor_type = Socket::executor_type;

  // Plain TCP (connected, or to be connected with asyncConnect).
  explicit ClientStream(Socket socket);
  // TLS server side of an accepted connection; asyncHandshake() comes first.
  ClientStream(Socket socket, std::shared_ptr<const TlsServerContext> tls);
  // TLS client side towards `instance` ("host:port": its SNI and verified name, see
  // TlsClientContext::prepare); the socket may be unconnected (asyncConnect then handshakes).
  ClientStream(Socket socket, std::shared_ptr<const TlsClientContext> tls,
               std::string_view instance);
  ClientStream(ClientStream&&) noexcept = default;
  ClientStream& operator=(ClientStream&& other) noexcept;
  ~ClientStream();

  bool isTls() const { return tls_ != nullptr; }
  // The TCP socket underneath: options, endpoints, native handle. Not for I/O under TLS.
  Socket& socket() { return tls_ ? tls_->stream.next_layer() : socket_; }
  const Socket& socket() const { return tls_ ? tls_->stream.next_layer() : socket_; }
  executor_type get_executor() { return socket().get_executor(); }
  // The protocol ALPN selected ("h2", "http/1.1"), empty when none was (or not TLS).
  std::string_view alpnProtocol() const;
  // Why the last TLS operation failed, in words: the certificate verification's reason when
  // verification failed ("certificate has expired", "hostname mismatch"), else `ec`'s message.
  std::string describeError(const boost::system::error_code& ec) const;
  // TLS: the handshake began (asyncConnect's TCP step succeeded), so a failure is TLS's.
  bool handshakeStarted() const { return tls_ && tls_->handshake_started; }

  template <class MutableBuffers, class Handler>
  void async_read_some(const MutableBuffers& buffers, Handler&& handler) {
    if (!tls_) return socket_.async_read_some(buffers, std::forward<Handler>(handler));
    tls_->stream.async_read_some(buffers, keepAlive(std::forward<Handler>(handler)));
  }

  template <class ConstBuffers, class Handler>
  void async_write_some(const ConstBuffers& buffers, Handler&& handler) {
    if (!tls_) return socket_.async_write_some(buffers, std::forward<Handler>(handler));
    tls_->stream.async_write_some(buffers, keepAlive(std::forward<Handler>(handler)));
  }

  // Writes all of `buffers` (handler(ec, bytes)). Under TLS a sequence of small pieces (a head
  // and a body piece, a chunk header...) is gathered into one buffer first: asio::ssl writes
  // one buffer per record, and one record and one syscall beat several.
  template <class ConstBuffers, class Handler>
  void asyncWrite(const ConstBuffers& buffers, Handler&& handler) {
    if (!tls_) return boost::asio::async_write(socket_, buffers, std::forward<Handler>(handler));
    auto first = boost::asio::buffer_sequence_begin(buffers);
    auto last = boost::asio::buffer_sequence_end(buffers);
    const std::size_t total = boost::asio::buffer_size(buffers);
    if (first != last && std::next(first) != last && total <= kGatherLimit) {
      tls_->gathered.resize(total);
      boost::asio::buffer_copy(boost::asio::buffer(tls_->gathered), buffers);
      return boost::asio::async_write(tls_->stream, boost::asio::buffer(tls_->gathered),
                                      keepAlive(std::forward<Handler>(handler)));
    }
    boost::asio::async_write(tls_->stream, buffers, keepAlive(std::forward<Handler>(handler)));
  }

  // Connects the socket, then (TLS client side) makes the handshake: handler(ec) once both are
  // done; an error of either step is the connect's.
  template <class Handler>
  void asyncConnect(const boost::asio::ip::tcp::endpoint& to, Handler&& handler) {
    if (!tls_) return socket_.async_connect(to, std::forward<Handler>(handler));
    tls_->stream.next_layer().async_connect(
        to, [tls = tls_,
             handler = std::forward<Handler>(handler)](boost::system::error_code ec) mutable {
          if (ec) return handler(ec);
          boost::system::error_code ignored;
          tls->stream.next_layer().set_option(boost::asio::ip::tcp::no_delay(true), ignored);
          tls->handshake_started = true;
          // Taken before `tls` moves into the handler (argument order is unspecified).
          auto& stream = tls->stream;
          const auto role = tls->role;
          stream.async_handshake(role, [tls = std::move(tls), handler = std::move(handler)](
                                           boost::system::error_code ec) mutable { handler(ec); });
        });
  }

  // TLS only: the handshake, in this side's role. handler(ec).
  template <class Handler>
  void asyncHandshake(Handler&& handler) {
    tls_->handshake_started = true;
    tls_->stream.async_handshake(tls_->role, keepAlive(std::forward<Handler>(handler)));
  }

  // Ends our sending side, for a lingering close: TCP sends FIN now; TLS sends close_notify and
  // then waits for the peer's. handler(ec) runs when that is done or failed (plain: at once,
  // posted). Reads may go on meanwhile; close() ends everything.
  template <class Handler>
  void shutdownSend(Handler&& handler) {
    if (!tls_) {
      boost::system::error_code ec;
      socket_.shutdown(Socket::shutdown_send, ec);
      return boost::asio::post(socket_.get_executor(), [handler = std::forward<Handler>(handler),
                                                        ec]() mutable { handler(ec); });
    }
    tls_->stream.async_shutdown(keepAlive(std::forward<Handler>(handler)));
  }

  // Closes the socket; pending operations end with operation_aborted. Idempotent.
  void close();

 private:
  // Bigger writes go piece by piece (their pieces are large already).
  static constexpr std::size_t kGatherLimit = 64 * 1024;

  struct Tls {
    Tls(Socket socket, boost::asio::ssl::context& ctx,
        boost::asio::ssl::stream_base::handshake_type role)
        : stream(std::move(socket), ctx), role(role) {}
    TlsStream stream;
    boost::asio::ssl::stream_base::handshake_type role;
    std::shared_ptr<const void> context;  // the TlsServerContext / TlsClientContext in use
    std::string gathered;                 // asyncWrite's gathered pieces
    bool handshake_started = false;
  };

  // Wraps a TLS operation's handler so that the TLS state outlives the operation.
  template <class Handler>
  auto keepAlive(Handler&& handler) {
    return [tls = tls_, handler = std::forward<Handler>(handler)](auto&&... args) mutable {
      handler(std::forward<decltype(args)>(args)...);
    };
  }

  Socket socket_;  // plain TCP; under TLS the socket is inside tls_->stream
  std::shared_ptr<Tls> tls_;
};

}  // namespace switchyard::proxy
