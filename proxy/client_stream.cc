#include "proxy/client_stream.h"

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "proxy/tls_client_context.h"
#include "proxy/tls_server_context.h"

namespace switchyard::proxy {

namespace ssl = boost::asio::ssl;

ClientStream::ClientStream(Socket socket) : socket_(std::move(socket)) {}

ClientStream::ClientStream(Socket socket, std::shared_ptr<const TlsServerContext> tls)
    : socket_(socket.get_executor()),
      tls_(std::make_shared<Tls>(std::move(socket), tls->asioContext(), ssl::stream_base::server)) {
  tls_->context = std::move(tls);
}

ClientStream::ClientStream(Socket socket, std::shared_ptr<const TlsClientContext> tls,
                           std::string_view instance)
    : socket_(socket.get_executor()),
      tls_(std::make_shared<Tls>(std::move(socket), tls->asioContext(), ssl::stream_base::client)) {
  tls->prepare(tls_->stream.native_handle(), instance);
  tls_->context = std::move(tls);
}

ClientStream& ClientStream::operator=(ClientStream&& other) noexcept {
  if (this != &other) {
    close();
    socket_ = std::move(other.socket_);
    tls_ = std::move(other.tls_);
  }
  return *this;
}

ClientStream::~ClientStream() {
  // Pending TLS operations keep the state alive: closing the socket makes them end.
  if (tls_) close();
}

void ClientStream::close() {
  boost::system::error_code ignored;
  socket().close(ignored);
}

std::string_view ClientStream::alpnProtocol() const {
  if (!tls_) return {};
  const unsigned char* data = nullptr;
  unsigned int len = 0;
  SSL_get0_alpn_selected(const_cast<TlsStream&>(tls_->stream).native_handle(), &data, &len);
  return {reinterpret_cast<const char*>(data), len};
}

std::string ClientStream::describeError(const boost::system::error_code& ec) const {
  if (tls_) {
    SSL* ssl = const_cast<TlsStream&>(tls_->stream).native_handle();
    const long verify = SSL_get_verify_result(ssl);
    if (verify != X509_V_OK)
      return std::string("certificate verification failed: ") +
             X509_verify_cert_error_string(verify);
  }
  return ec.message();
}

}  // namespace switchyard::proxy
