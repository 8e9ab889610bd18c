#include "proxy/health_probe_http1.h"

#include <fmt/format.h>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>

#include "proxy/client_stream.h"
#include "proxy/tls_client_context.h"

namespace switchyard::proxy {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using boost::system::error_code;

// One GET on its own connection. Every handler holds a shared_ptr to it; finish() runs the
// callback once and closes the stream, so the handlers still queued end with an error and do
// nothing.
struct HealthProbeHttp1::Exchange : std::enable_shared_from_this<HealthProbeHttp1::Exchange> {
  Exchange(asio::io_context& io, const ProbeTarget& t)
      : stream(t.stream(io)), timer(io), target(t) {}

  ClientStream stream;
  asio::steady_timer timer;
  ProbeTarget target;
  Callback done;
  bool finished = false;
  std::string request;
  boost::beast::flat_buffer buffer;
  http::response_parser<http::empty_body> parser;

  void start(std::chrono::milliseconds timeout) {
    if (!target.unusable.empty()) return finish({0, target.unusable});
    auto self = shared_from_this();
    timer.expires_after(timeout);
    timer.async_wait([self, timeout](error_code ec) {
      if (!ec) self->finish({0, fmt::format("timed out after {} ms", timeout.count())});
    });
    stream.asyncConnect(target.address, [self](error_code ec) {
      if (self->finished) return;
      if (ec && self->stream.handshakeStarted())
        return self->finish({0, "TLS handshake: " + self->stream.describeError(ec)});
      if (ec) return self->finish({0, "connect: " + ec.message()});
      self->send();
    });
  }

  void send() {
    error_code ignored;
    stream.socket().set_option(asio::ip::tcp::no_delay(true), ignored);
    request = discovery::healthGetRequest(target.authority(), target.path);
    auto self = shared_from_this();
    stream.asyncWrite(asio::buffer(request), [self](error_code ec, std::size_t) {
      if (self->finished) return;
      if (ec) return self->finish({0, "send: " + self->stream.describeError(ec)});
      self->receive();
    });
  }

  void receive() {
    parser.header_limit(64 * 1024);
    auto self = shared_from_this();
    http::async_read_header(stream, buffer, parser, [self](error_code ec, std::size_t) {
      if (self->finished) return;
      if (ec) return self->finish({0, "response: " + self->stream.describeError(ec)});
      self->finish({static_cast<int>(self->parser.get().result_int()), {}});
    });
  }

  // Closes everything; runs the callback unless cancelled (done emptied).
  void finish(discovery::HealthOutcome outcome) {
    if (finished) return;
    finished = true;
    timer.cancel();
    stream.close();
    if (auto callback = std::exchange(done, nullptr)) callback(std::move(outcome));
  }

  void cancel() {
    done = nullptr;
    finish({});
  }
};

HealthProbeHttp1::HealthProbeHttp1(asio::io_context& io) : io_(io) {}

HealthProbeHttp1::~HealthProbeHttp1() { cancel(); }

void HealthProbeHttp1::get(const ProbeTarget& target, std::chrono::milliseconds timeout,
                           Callback done) {
  cancel();
  auto exchange = std::make_shared<Exchange>(io_, target);
  // The exchange's callback clears pending_ first, so that `done` may call get() again.
  std::weak_ptr<Exchange> weak = exchange;
  exchange->done = [this, weak, done = std::move(done)](discovery::HealthOutcome outcome) {
    if (pending_ == weak.lock()) pending_.reset();
    done(std::move(outcome));
  };
  pending_ = exchange;
  ++connections_;
  // Posted, so that `done` never runs from inside get().
  asio::post(io_, [exchange, timeout] {
    if (!exchange->finished) exchange->start(timeout);
  });
}

void HealthProbeHttp1::cancel() {
  if (auto exchange = std::exchange(pending_, nullptr)) exchange->cancel();
}

}  // namespace switchyard::proxy
