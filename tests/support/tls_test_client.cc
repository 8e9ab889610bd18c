#include "tests/support/tls_test_client.h"

#include <openssl/bn.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>

namespace switchyard::support {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;

struct TlsTestClient::Impl {
  ~Impl() {
    if (resume) SSL_SESSION_free(resume);
  }
  asio::io_context io;
  ssl::context ctx{ssl::context::tls_client};
  std::unique_ptr<ssl::stream<tcp::socket>> stream;
  asio::streambuf in;
  SSL_SESSION* resume = nullptr;
};

TlsTestClient::TlsTestClient() : impl_(std::make_unique<Impl>()) {}
TlsTestClient::~TlsTestClient() = default;

bool TlsTestClient::connect(uint16_t port, const std::string& ca_file,
                            const std::string& server_name, const std::vector<std::string>& alpn,
                            std::chrono::milliseconds timeout) {
  error_code ec;
  impl_->ctx.load_verify_file(ca_file, ec);
  if (ec) {
    error_ = "load " + ca_file + ": " + ec.message();
    return false;
  }
  impl_->ctx.set_verify_mode(ssl::verify_peer);
  impl_->stream = std::make_unique<ssl::stream<tcp::socket>>(impl_->io, impl_->ctx);
  SSL* ssl = impl_->stream->native_handle();
  SSL_set_tlsext_host_name(ssl, server_name.c_str());
  if (impl_->resume) SSL_set_session(ssl, impl_->resume);
  impl_->stream->set_verify_callback(ssl::host_name_verification(server_name));
  if (!alpn.empty()) {
    std::string wire;
    for (const auto& p : alpn) wire += static_cast<char>(p.size()) + p;
    SSL_set_alpn_protos(ssl, reinterpret_cast<const unsigned char*>(wire.data()),
                        static_cast<unsigned>(wire.size()));
  }
  auto& socket = impl_->stream->next_layer();
  socket.connect({asio::ip::make_address("127.0.0.1"), port}, ec);
  if (ec) {
    error_ = "connect: " + ec.message();
    return false;
  }
  // Blocking calls with a bound: every read and write gives up after `timeout`.
  timeval tv{static_cast<time_t>(timeout.count() / 1000),
             static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
  ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  impl_->stream->handshake(ssl::stream_base::client, ec);
  if (ec) {
    error_ = "handshake: " + ec.message();
    return false;
  }
  return true;
}

std::string TlsTestClient::serial() const {
  if (!impl_->stream) return "";
  X509* cert = SSL_get1_peer_certificate(impl_->stream->native_handle());
  if (!cert) return "";
  BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr);
  char* hex = BN_bn2hex(bn);
  std::string s = hex;
  OPENSSL_free(hex);
  BN_free(bn);
  X509_free(cert);
  return s;
}

std::string TlsTestClient::alpn() const {
  if (!impl_->stream) return "";
  const unsigned char* data = nullptr;
  unsigned len = 0;
  SSL_get0_alpn_selected(impl_->stream->native_handle(), &data, &len);
  return std::string(reinterpret_cast<const char*>(data), len);
}

void TlsTestClient::resumeFrom(const TlsTestClient& other) {
  if (!other.impl_->stream) return;
  if (impl_->resume) SSL_SESSION_free(impl_->resume);
  impl_->resume = SSL_get1_session(other.impl_->stream->native_handle());
}

bool TlsTestClient::readUntilCloseNotify() {
  if (!impl_->stream) {
    error_ = "not connected";
    return false;
  }
  error_code ec;
  char buf[4096];
  while (!ec) impl_->stream->read_some(asio::buffer(buf), ec);
  if (ec == asio::error::eof) return true;  // what asio::ssl reports for close_notify
  error_ = "the connection ended without close_notify: " + ec.message();
  return false;
}

bool TlsTestClient::sessionReused() const {
  return impl_->stream && SSL_session_reused(impl_->stream->native_handle()) == 1;
}

std::string TlsTestClient::roundTrip(const std::string& request) {
  if (!impl_->stream) {
    error_ = "not connected";
    return "";
  }
  error_code ec;
  asio::write(*impl_->stream, asio::buffer(request), ec);
  if (ec) {
    error_ = "write: " + ec.message();
    return "";
  }
  const std::size_t n = asio::read_until(*impl_->stream, impl_->in, "\r\n\r\n", ec);
  if (ec) {
    error_ = "read head: " + ec.message();
    return "";
  }
  std::string response(asio::buffers_begin(impl_->in.data()),
                       asio::buffers_begin(impl_->in.data()) + n);
  impl_->in.consume(n);
  std::string lower = response;
  for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  std::size_t body = 0;
  if (auto pos = lower.find("content-length:"); pos != std::string::npos)
    body = std::stoul(lower.substr(pos + 15));
  if (impl_->in.size() < body)
    asio::read(*impl_->stream, impl_->in, asio::transfer_exactly(body - impl_->in.size()), ec);
  if (ec) {
    error_ = "read body: " + ec.message();
    return "";
  }
  response.append(asio::buffers_begin(impl_->in.data()),
                  asio::buffers_begin(impl_->in.data()) + body);
  impl_->in.consume(body);
  return response;
}

}  // namespace switchyard::support
