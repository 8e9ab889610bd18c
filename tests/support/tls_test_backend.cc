#include "tests/support/tls_test_backend.h"

#include <openssl/ssl.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace switchyard::support {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;

class TlsTestBackend::Impl : public std::enable_shared_from_this<TlsTestBackend::Impl> {
 public:
  Impl(std::string name, const TestCertificate& cert) : name_(std::move(name)) {
    ctx_.use_certificate_chain_file(cert.certificate);
    ctx_.use_private_key_file(cert.private_key, ssl::context::pem);
    acceptor_.open(tcp::v4());
    acceptor_.bind({asio::ip::make_address("127.0.0.1"), 0});
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
  }

  void start() {
    accept();
    thread_ = std::thread([self = shared_from_this()] { self->io_.run(); });
  }

  void stop() {
    if (!thread_.joinable()) return;
    asio::post(io_, [this] {
      error_code ignored;
      acceptor_.close(ignored);
      io_.stop();
    });
    thread_.join();
  }

  struct Connection {
    explicit Connection(tcp::socket s, ssl::context& ctx) : stream(std::move(s), ctx) {}
    ssl::stream<tcp::socket> stream;
    asio::streambuf in;
    std::string out;
    std::string target;  // of the request being answered
  };

  void accept() {
    acceptor_.async_accept([this](error_code ec, tcp::socket socket) {
      if (ec) return;
      socket.set_option(tcp::no_delay(true));
      auto c = std::make_shared<Connection>(std::move(socket), ctx_);
      c->stream.async_handshake(ssl::stream_base::server, [this, c](error_code ec) {
        if (ec) return;
        ++handshakes_;
        const char* sni = SSL_get_servername(c->stream.native_handle(), TLSEXT_NAMETYPE_host_name);
        {
          std::lock_guard lock(mu_);
          server_name_ = sni ? sni : "";
        }
        readRequest(c);
      });
      accept();
    });
  }

  void readRequest(const std::shared_ptr<Connection>& c) {
    asio::async_read_until(c->stream, c->in, "\r\n\r\n", [this, c](error_code ec, std::size_t n) {
      if (ec) return;
      std::string head(asio::buffers_begin(c->in.data()), asio::buffers_begin(c->in.data()) + n);
      c->in.consume(n);
      std::string target;
      if (auto sp = head.find(' '); sp != std::string::npos)
        target = head.substr(sp + 1, head.find(' ', sp + 1) - sp - 1);
      {
        std::lock_guard lock(mu_);
        last_head_ = head;
        c->target = target;
      }
      std::size_t body = 0;
      std::string lower = head;
      for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      if (auto pos = lower.find("content-length:"); pos != std::string::npos)
        body = std::stoul(lower.substr(pos + 15));
      readBody(c, body);
    });
  }

  void readBody(const std::shared_ptr<Connection>& c, std::size_t left) {
    const std::size_t have = std::min(left, c->in.size());
    c->in.consume(have);
    left -= have;
    if (left == 0) return respond(c);
    c->stream.async_read_some(c->in.prepare(16384), [this, c, left](error_code ec, std::size_t n) {
      if (ec) return;
      c->in.commit(n);
      readBody(c, left);
    });
  }

  void respond(const std::shared_ptr<Connection>& c) {
    ++requests_;
    int status = 200;
    {
      std::lock_guard lock(mu_);
      ++answered_[c->target];
      if (auto it = statuses_.find(c->target); it != statuses_.end()) status = it->second;
    }
    const std::string body = "hello from " + name_;
    c->out = "HTTP/1.1 " + std::to_string(status) + (status == 200 ? " OK" : " Not OK") +
             "\r\nx-backend: " + name_ + "\r\nContent-Length: " + std::to_string(body.size()) +
             "\r\n\r\n" + body;
    asio::async_write(c->stream, asio::buffer(c->out), [this, c](error_code ec, std::size_t) {
      if (ec) return;
      readRequest(c);
    });
  }

  const std::string name_;
  asio::io_context io_{1};
  ssl::context ctx_{ssl::context::tls_server};
  tcp::acceptor acceptor_{io_};
  uint16_t port_ = 0;
  std::thread thread_;
  std::atomic<uint64_t> handshakes_{0};
  std::atomic<uint64_t> requests_{0};
  mutable std::mutex mu_;
  std::string server_name_;
  std::string last_head_;
  std::map<std::string, int> statuses_;       // by path
  std::map<std::string, uint64_t> answered_;  // by path
};

TlsTestBackend::TlsTestBackend(std::string name, const TestCertificate& certificate)
    : impl_(std::make_shared<Impl>(std::move(name), certificate)) {
  impl_->start();
}

TlsTestBackend::~TlsTestBackend() { stop(); }

void TlsTestBackend::stop() { impl_->stop(); }
uint16_t TlsTestBackend::port() const { return impl_->port_; }
std::string TlsTestBackend::address() const { return "127.0.0.1:" + std::to_string(port()); }
uint64_t TlsTestBackend::handshakes() const { return impl_->handshakes_; }
uint64_t TlsTestBackend::requests() const { return impl_->requests_; }

std::string TlsTestBackend::lastServerName() const {
  std::lock_guard lock(impl_->mu_);
  return impl_->server_name_;
}

void TlsTestBackend::setStatus(const std::string& path, int status) {
  std::lock_guard lock(impl_->mu_);
  impl_->statuses_[path] = status;
}

uint64_t TlsTestBackend::requestsFor(const std::string& path) const {
  std::lock_guard lock(impl_->mu_);
  auto it = impl_->answered_.find(path);
  return it == impl_->answered_.end() ? 0 : it->second;
}

std::string TlsTestBackend::lastRequestHead() const {
  std::lock_guard lock(impl_->mu_);
  return impl_->last_head_;
}

}  // namespace switchyard::support
