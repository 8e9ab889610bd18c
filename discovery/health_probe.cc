#include "discovery/health_probe.h"

#include <fmt/format.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "common/host_port.h"

namespace switchyard::discovery {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using asio::ip::tcp;
using boost::system::error_code;

Result<HealthTarget> HealthTarget::parseUrl(std::string_view url) {
  constexpr std::string_view kScheme = "http://";
  if (url.substr(0, kScheme.size()) != kScheme) {
    if (url.substr(0, 8) == "https://")
      return makeError("\"" + std::string(url) + "\": https is not supported (plain http:// only)");
    return makeError("\"" + std::string(url) + "\": expected http://HOST[:PORT][/PATH]");
  }
  std::string_view rest = url.substr(kScheme.size());
  const auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  HealthTarget target;
  target.path = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (target.path.find('#') != std::string::npos)
    return makeError("\"" + std::string(url) + "\": a fragment (#) has no place in a health URL");
  if (target.path.find_first_of(" \t\r\n") != std::string::npos)
    return makeError("\"" + std::string(url) + "\": spaces in the path");
  if (authority.find('@') != std::string_view::npos)
    return makeError("\"" + std::string(url) + "\": user info is not supported");
  if (authority.empty()) return makeError("\"" + std::string(url) + "\": no host");
  // Without a port (and not a bracketed v6 literal ending in one), port 80.
  const bool has_port = authority.back() != ']' && authority.rfind(':') != std::string_view::npos;
  std::string with_port(authority);
  if (!has_port) with_port += ":80";
  auto parsed = parseHostPort(with_port);
  if (!parsed) return makeError("\"" + std::string(url) + "\": " + parsed.error().message);
  target.host = parsed->host;
  target.port = parsed->port;
  return target;
}

std::string HealthTarget::url() const { return "http://" + HostPort{host, port}.str() + path; }

std::string healthGetRequest(std::string_view authority, std::string_view path) {
  return fmt::format(
      "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: switchyard-health\r\nConnection: close\r\n\r\n",
      path, authority);
}

std::string HealthOutcome::str() const { return answered() ? std::to_string(status) : error; }

// One GET. Every handler holds a shared_ptr to it; `finish` runs the callback once and closes
// everything, so the handlers still queued complete with operation_aborted and do nothing.
struct HealthProbe::Exchange : std::enable_shared_from_this<HealthProbe::Exchange> {
  Exchange(asio::io_context& io, HealthTarget t, Callback d)
      : resolver(io), socket(io), timer(io), target(std::move(t)), done(std::move(d)) {}

  tcp::resolver resolver;
  tcp::socket socket;
  asio::steady_timer timer;
  HealthTarget target;
  Callback done;
  bool finished = false;
  boost::beast::flat_buffer buffer;
  std::string request;
  http::response_parser<http::empty_body> parser;

  void start(std::chrono::milliseconds timeout) {
    auto self = shared_from_this();
    timer.expires_after(timeout);
    timer.async_wait([self, timeout](error_code ec) {
      if (!ec) self->finish({0, fmt::format("timed out after {} ms", timeout.count())});
    });
    resolver.async_resolve(target.host, std::to_string(target.port),
                           [self](error_code ec, tcp::resolver::results_type results) {
                             if (self->finished) return;
                             if (ec) return self->finish({0, "resolve: " + ec.message()});
                             self->connect(results);
                           });
  }

  void connect(const tcp::resolver::results_type& results) {
    auto self = shared_from_this();
    asio::async_connect(socket, results, [self](error_code ec, const tcp::endpoint&) {
      if (self->finished) return;
      if (ec) return self->finish({0, "connect: " + ec.message()});
      error_code ignored;
      self->socket.set_option(tcp::no_delay(true), ignored);
      self->send();
    });
  }

  void send() {
    request = healthGetRequest(HostPort{target.host, target.port}.str(), target.path);
    auto self = shared_from_this();
    asio::async_write(socket, asio::buffer(request), [self](error_code ec, size_t) {
      if (self->finished) return;
      if (ec) return self->finish({0, "send: " + ec.message()});
      self->receive();
    });
  }

  void receive() {
    parser.header_limit(64 * 1024);
    auto self = shared_from_this();
    http::async_read_header(socket, buffer, parser, [self](error_code ec, size_t) {
      if (self->finished) return;
      if (ec) return self->finish({0, "response: " + ec.message()});
      self->finish({static_cast<int>(self->parser.get().result_int()), {}});
    });
  }

  // Closes everything; runs the callback unless cancelled (done emptied).
  void finish(HealthOutcome outcome) {
    if (finished) return;
    finished = true;
    timer.cancel();
    resolver.cancel();
    error_code ignored;
    socket.close(ignored);
    if (auto callback = std::exchange(done, nullptr)) callback(std::move(outcome));
  }

  void cancel() {
    done = nullptr;
    finish({});
  }
};

HealthProbe::HealthProbe(asio::io_context& io) : io_(io) {}

HealthProbe::~HealthProbe() { cancel(); }

void HealthProbe::get(const HealthTarget& target, std::chrono::milliseconds timeout,
                      Callback done) {
  cancel();
  // The exchange's callback clears pending_ first, so that `done` may call get() again.
  auto exchange = std::make_shared<Exchange>(io_, target, nullptr);
  std::weak_ptr<Exchange> weak = exchange;
  exchange->done = [this, weak, done = std::move(done)](HealthOutcome outcome) {
    if (pending_ == weak.lock()) pending_.reset();
    done(std::move(outcome));
  };
  pending_ = exchange;
  // Posted, so that `done` never runs from inside get() (a lookup of a literal can be immediate).
  asio::post(io_, [exchange, timeout] {
    if (!exchange->finished) exchange->start(timeout);
  });
}

void HealthProbe::cancel() {
  if (auto exchange = std::exchange(pending_, nullptr)) exchange->cancel();
}

}  // namespace switchyard::discovery
