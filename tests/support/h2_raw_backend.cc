#include "tests/support/h2_raw_backend.h"

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <thread>

namespace switchyard::support {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

class H2RawBackend::Impl {
 public:
  explicit Impl(std::string response)
      : response_(std::move(response)),
        acceptor_(ctx_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    port_ = acceptor_.local_endpoint().port();
    accept();
    thread_ = std::thread([this] { ctx_.run(); });
  }
  ~Impl() {
    ctx_.stop();
    thread_.join();
  }

  uint16_t port_ = 0;
  std::atomic<uint64_t> requests_{0};

 private:
  struct Conn {
    explicit Conn(tcp::socket s) : socket(std::move(s)) {}
    tcp::socket socket;
    asio::streambuf in;
  };

  void accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket s) {
      if (ec) return;
      boost::system::error_code ignored;
      s.set_option(tcp::no_delay(true), ignored);
      serve(std::make_shared<Conn>(std::move(s)));
      accept();
    });
  }

  void serve(std::shared_ptr<Conn> c) {
    asio::async_read_until(c->socket, c->in, "\r\n\r\n",
                           [this, c](boost::system::error_code ec, std::size_t n) {
                             if (ec) return;
                             c->in.consume(n);
                             ++requests_;
                             asio::async_write(c->socket, asio::buffer(response_),
                                               [this, c](boost::system::error_code ec, std::size_t) {
                                                 if (!ec) serve(c);
                                               });
                           });
  }

  const std::string response_;
  asio::io_context ctx_{1};
  tcp::acceptor acceptor_;
  std::thread thread_;
};

H2RawBackend::H2RawBackend(std::string response)
    : impl_(std::make_unique<Impl>(std::move(response))) {}
H2RawBackend::~H2RawBackend() = default;
uint16_t H2RawBackend::port() const { return impl_->port_; }
std::string H2RawBackend::address() const { return "127.0.0.1:" + std::to_string(port()); }
uint64_t H2RawBackend::requestCount() const { return impl_->requests_; }

}  // namespace switchyard::support
