#include "tests/support/test_backend.h"

#include <openssl/evp.h>
#include <strings.h>

#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <condition_variable>
#include <deque>
#include <limits>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "tests/support/checksum.h"

namespace switchyard::support {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

bool icontains(std::string_view hay, std::string_view needle) {
  if (needle.size() > hay.size()) return false;
  for (size_t i = 0; i + needle.size() <= hay.size(); ++i)
    if (iequals(hay.substr(i, needle.size()), needle)) return true;
  return false;
}

// RFC 6455 section 4.2.2: base64(SHA-1(key + GUID)).
std::string webSocketAccept(const std::string& key) {
  std::string in = key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(in.data(), in.size(), digest, &len, EVP_sha1(), nullptr);
  unsigned char out[64];
  int n = EVP_EncodeBlock(out, digest, static_cast<int>(len));
  return std::string(reinterpret_cast<char*>(out), static_cast<size_t>(n));
}

std::string statusLine(int status) {
  std::string reason(http::obsolete_reason(static_cast<http::status>(status)));
  return "HTTP/1.1 " + std::to_string(status) + " " + reason + "\r\n";
}

}  // namespace

std::string BackendRequest::header(std::string_view name) const {
  for (const auto& [n, v] : headers)
    if (iequals(n, name)) return v;
  return {};
}

bool BackendRequest::hasHeader(std::string_view name) const { return headerCount(name) > 0; }

size_t BackendRequest::headerCount(std::string_view name) const {
  return static_cast<size_t>(std::count_if(headers.begin(), headers.end(),
                                           [&](const auto& h) { return iequals(h.first, name); }));
}

BackendBehavior BackendBehavior::fixed(int status, std::string body) {
  BackendBehavior b;
  b.status = status;
  b.body = std::move(body);
  return b;
}

BackendBehavior BackendBehavior::echo() {
  BackendBehavior b;
  b.mode = BackendMode::kEcho;
  return b;
}

BackendBehavior BackendBehavior::stream(uint64_t bytes, bool chunked) {
  BackendBehavior b;
  b.mode = BackendMode::kStream;
  b.stream_bytes = bytes;
  b.chunked = chunked;
  return b;
}

BackendBehavior BackendBehavior::delayed(std::chrono::milliseconds delay) {
  BackendBehavior b;
  b.delay = delay;
  return b;
}

BackendBehavior BackendBehavior::closeMidResponse(uint64_t announced_bytes) {
  BackendBehavior b;
  b.mode = BackendMode::kCloseMidResponse;
  b.stream_bytes = announced_bytes;
  return b;
}

BackendBehavior BackendBehavior::reset() {
  BackendBehavior b;
  b.mode = BackendMode::kReset;
  return b;
}

class TestBackend::Impl {
 public:
  explicit Impl(std::string name) : name_(std::move(name)), acceptor_(ioc_) {
    tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), 0);
    acceptor_.open(ep.protocol());
    acceptor_.set_option(tcp::acceptor::reuse_address(true));
    acceptor_.bind(ep);
    acceptor_.listen(asio::socket_base::max_listen_connections);
    port_ = acceptor_.local_endpoint().port();
    asio::co_spawn(ioc_, acceptLoop(), asio::detached);
    thread_ = std::thread([this] { ioc_.run(); });
  }

  ~Impl() { stop(); }

  void stop() {
    std::lock_guard stop_lock(stop_mu_);
    if (!thread_.joinable()) return;
    asio::post(ioc_, [this] {
      beast::error_code ec;
      acceptor_.close(ec);
      for (const auto& s : live_) s->close(ec);
      live_.clear();
      ioc_.stop();
    });
    thread_.join();
  }

  const std::string name_;
  uint16_t port_ = 0;
  std::atomic<uint64_t> requests_{0};
  std::atomic<uint64_t> connections_{0};

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  BackendBehavior behavior_;
  BackendHandler handler_;
  std::deque<BackendRequest> seen_;

 private:
  using Socket = std::shared_ptr<tcp::socket>;

  asio::awaitable<void> acceptLoop() {
    for (;;) {
      beast::error_code ec;
      tcp::socket s =
          co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        if (!acceptor_.is_open()) co_return;
        continue;
      }
      s.set_option(tcp::no_delay(true), ec);
      uint64_t id = ++connections_;
      auto sp = std::make_shared<tcp::socket>(std::move(s));
      live_.insert(sp);
      asio::co_spawn(ioc_, serve(sp, id), asio::detached);
    }
  }

  BackendBehavior choose(const BackendRequest& req) {
    std::lock_guard lock(mu_);
    return handler_ ? handler_(req) : behavior_;
  }

  void record(BackendRequest req) {
    std::lock_guard lock(mu_);
    seen_.push_back(std::move(req));
    if (seen_.size() > kMaxRecorded) seen_.pop_front();
    cv_.notify_all();
  }

  static asio::awaitable<bool> write(tcp::socket& s, std::string_view data) {
    beast::error_code ec;
    co_await asio::async_write(s, asio::buffer(data.data(), data.size()),
                               asio::redirect_error(asio::use_awaitable, ec));
    co_return !ec;
  }

  asio::awaitable<void> sleepFor(std::chrono::milliseconds d) {
    if (d.count() <= 0) co_return;
    asio::steady_timer t(ioc_, d);
    beast::error_code ec;
    co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }

  std::string commonHeaders(bool keep_alive, const BackendBehavior& b) const {
    std::string h = "x-backend: " + name_ + "\r\n";
    for (const auto& [n, v] : b.headers) h += n + ": " + v + "\r\n";
    if (!keep_alive) h += "Connection: close\r\n";
    return h;
  }

  asio::awaitable<void> serve(Socket sp, uint64_t conn_id) {
    tcp::socket& s = *sp;
    beast::flat_buffer buf;
    std::vector<char> tmp(1 << 16);
    for (;;) {
      http::request_parser<http::buffer_body> parser;
      parser.header_limit(1 << 20);
      parser.body_limit(std::numeric_limits<std::uint64_t>::max());
      beast::error_code ec;
      co_await http::async_read_header(s, buf, parser,
                                       asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;
      ++requests_;
      auto& msg = parser.get();
      BackendRequest req;
      req.method = std::string(msg.method_string());
      req.target = std::string(msg.target());
      req.version = msg.version();
      req.connection_id = conn_id;
      for (const auto& f : msg)
        req.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
      BackendBehavior b = choose(req);

      if (icontains(req.header("upgrade"), "websocket")) {
        record(req);
        co_await upgradeEcho(s, buf, req);
        break;
      }
      if (iequals(req.header("expect"), "100-continue")) {
        bool sent = co_await write(s, "HTTP/1.1 100 Continue\r\n\r\n");
        if (!sent) break;
      }
      co_await sleepFor(b.body_read_delay);

      Checksum sum;
      while (!parser.is_done()) {
        msg.body().data = tmp.data();
        msg.body().size = tmp.size();
        co_await http::async_read(s, buf, parser, asio::redirect_error(asio::use_awaitable, ec));
        if (ec == http::error::need_buffer) ec = {};
        if (ec) break;
        size_t n = tmp.size() - msg.body().size;
        sum.update(tmp.data(), n);
        if (req.body.size() < BackendRequest::kBodyCaptureLimit)
          req.body.append(tmp.data(),
                          std::min(n, BackendRequest::kBodyCaptureLimit - req.body.size()));
      }
      req.body_bytes = sum.bytes();
      req.body_checksum = sum.hex();
      req.body_complete = !ec;
      bool keep_alive = msg.keep_alive() && !b.close_after;
      bool head = msg.method() == http::verb::head;
      record(req);
      if (ec) break;

      if (b.mode == BackendMode::kReset) {
        s.set_option(asio::socket_base::linger(true, 0), ec);
        s.close(ec);
        break;
      }
      co_await sleepFor(b.delay);
      bool ok = false;
      if (b.mode == BackendMode::kEcho) {
        ok = co_await writeEcho(s, b, req, keep_alive, head);
      } else if (b.mode == BackendMode::kStream) {
        ok = co_await writeStream(s, b, keep_alive, head, tmp);
      } else if (b.mode == BackendMode::kCloseMidResponse) {
        co_await writeHalfAndClose(s, b);
      } else {
        ok = co_await writeFixed(s, b, keep_alive, head);
      }
      if (!ok) break;
      if (!keep_alive) {
        s.shutdown(tcp::socket::shutdown_send, ec);
        break;
      }
    }
    live_.erase(sp);
  }

  asio::awaitable<void> writeHalfAndClose(tcp::socket& s, const BackendBehavior& b) {
    std::string out = statusLine(200) + commonHeaders(true, b) +
                      "Content-Length: " + std::to_string(b.stream_bytes) + "\r\n\r\n" +
                      Checksum::pattern(0, b.stream_bytes / 2);
    co_await write(s, out);
    beast::error_code ec;
    s.shutdown(tcp::socket::shutdown_both, ec);
    s.close(ec);
  }

  asio::awaitable<bool> writeFixed(tcp::socket& s, const BackendBehavior& b, bool keep_alive,
                                   bool head) {
    std::string body = b.body.empty() ? "hello from " + name_ : b.body;
    bool no_body = b.status == 204 || b.status == 304 || (b.status >= 100 && b.status < 200);
    std::string out = statusLine(b.status) + commonHeaders(keep_alive, b);
    if (!no_body)
      out += "Content-Type: text/plain\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
    out += "\r\n";
    if (!no_body && !head) out += body;
    bool sent = co_await write(s, out);
    co_return sent;
  }

  asio::awaitable<bool> writeEcho(tcp::socket& s, const BackendBehavior& b,
                                  const BackendRequest& req, bool keep_alive, bool head) {
    nlohmann::json j;
    j["backend"] = name_;
    j["method"] = req.method;
    j["target"] = req.target;
    j["version"] = req.version;
    j["connection"] = req.connection_id;
    j["headers"] = nlohmann::json::array();
    for (const auto& [n, v] : req.headers) j["headers"].push_back({n, v});
    j["body_bytes"] = req.body_bytes;
    j["body_checksum"] = req.body_checksum;
    if (req.body.size() == req.body_bytes) j["body"] = req.body;
    std::string body = j.dump();
    std::string out =
        statusLine(200) + commonHeaders(keep_alive, b) +
        "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
        "\r\n\r\n";
    if (!head) out += body;
    bool sent = co_await write(s, out);
    co_return sent;
  }

  asio::awaitable<bool> writeStream(tcp::socket& s, const BackendBehavior& b, bool keep_alive,
                                    bool head, std::vector<char>& tmp) {
    std::string out = statusLine(200) + commonHeaders(keep_alive, b) +
                      "Content-Type: application/octet-stream\r\n";
    out += b.chunked ? std::string("Transfer-Encoding: chunked\r\n")
                     : "Content-Length: " + std::to_string(b.stream_bytes) + "\r\n";
    out += "\r\n";
    bool sent = co_await write(s, out);
    if (!sent || head) co_return sent;
    for (uint64_t done = 0; done < b.stream_bytes;) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(tmp.size(), b.stream_bytes - done));
      Checksum::fillPattern(tmp.data(), done, n);
      if (b.chunked) {
        char size_line[32];
        int len = std::snprintf(size_line, sizeof size_line, "%zx\r\n", n);
        std::string chunk(size_line, static_cast<size_t>(len));
        chunk.append(tmp.data(), n);
        chunk += "\r\n";
        bool sent = co_await write(s, chunk);
        if (!sent) co_return false;
      } else {
        bool sent = co_await write(s, std::string_view(tmp.data(), n));
        if (!sent) co_return false;
      }
      done += n;
    }
    if (!b.chunked) co_return true;
    bool last = co_await write(s, "0\r\n\r\n");
    co_return last;
  }

  asio::awaitable<void> upgradeEcho(tcp::socket& s, beast::flat_buffer& buf,
                                    const BackendRequest& req) {
    std::string out = statusLine(101) +
                      "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                      "Sec-WebSocket-Accept: " +
                      webSocketAccept(req.header("sec-websocket-key")) + "\r\nx-backend: " + name_ +
                      "\r\n\r\n";
    bool sent = co_await write(s, out);
    if (!sent) co_return;
    // Bytes that arrived with the handshake belong to the tunnel.
    if (buf.size() > 0) {
      std::string early(static_cast<const char*>(buf.data().data()), buf.size());
      buf.consume(buf.size());
      sent = co_await write(s, early);
      if (!sent) co_return;
    }
    std::vector<char> tmp(1 << 14);
    for (;;) {
      beast::error_code ec;
      size_t n = co_await s.async_read_some(asio::buffer(tmp),
                                            asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;
      sent = co_await write(s, std::string_view(tmp.data(), n));
      if (!sent) break;
    }
    beast::error_code ec;
    s.shutdown(tcp::socket::shutdown_send, ec);
  }

  asio::io_context ioc_{1};
  tcp::acceptor acceptor_;
  std::set<Socket> live_;  // io thread only
  std::thread thread_;
  std::mutex stop_mu_;
};

TestBackend::TestBackend(std::string name) : impl_(std::make_unique<Impl>(std::move(name))) {}
TestBackend::~TestBackend() { stop(); }

const std::string& TestBackend::name() const { return impl_->name_; }
uint16_t TestBackend::port() const { return impl_->port_; }
std::string TestBackend::address() const { return "127.0.0.1:" + std::to_string(port()); }

void TestBackend::setBehavior(BackendBehavior behavior) {
  std::lock_guard lock(impl_->mu_);
  impl_->behavior_ = std::move(behavior);
  impl_->handler_ = nullptr;
}

void TestBackend::setHandler(BackendHandler handler) {
  std::lock_guard lock(impl_->mu_);
  impl_->handler_ = std::move(handler);
}

uint64_t TestBackend::requestCount() const { return impl_->requests_.load(); }
uint64_t TestBackend::connectionCount() const { return impl_->connections_.load(); }

std::vector<BackendRequest> TestBackend::requests() const {
  std::lock_guard lock(impl_->mu_);
  return {impl_->seen_.begin(), impl_->seen_.end()};
}

bool TestBackend::waitForRequests(size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(impl_->mu_);
  return impl_->cv_.wait_for(lock, timeout, [&] { return impl_->seen_.size() >= n; });
}

void TestBackend::stop() { impl_->stop(); }

}  // namespace switchyard::support
