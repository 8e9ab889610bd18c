#include "tests/support/http_client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cerrno>
#include <cstring>
#include <limits>
#include <optional>

#include "tests/support/checksum.h"

namespace switchyard::support {

namespace beast = boost::beast;
namespace http = beast::http;
using Clock = std::chrono::steady_clock;

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

int remainingMs(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() < 0 ? 0 : static_cast<int>(left.count());
}

}  // namespace

const char* toString(ReadStatus s) {
  switch (s) {
    case ReadStatus::kOk:
      return "ok";
    case ReadStatus::kTimeout:
      return "timeout";
    case ReadStatus::kClosed:
      return "closed";
    case ReadStatus::kParseError:
      return "parse-error";
    case ReadStatus::kNotConnected:
      return "not-connected";
  }
  return "?";
}

std::string HttpResponse::header(std::string_view name) const {
  for (const auto& [n, v] : headers)
    if (iequals(n, name)) return v;
  return {};
}

bool HttpResponse::hasHeader(std::string_view name) const {
  for (const auto& h : headers)
    if (iequals(h.first, name)) return true;
  return false;
}

std::string HttpResponse::describe() const {
  std::string s = std::string("read=") + toString(read_status);
  if (!error.empty()) s += " (" + error + ")";
  s += " status=" + std::to_string(status);
  for (const auto& [n, v] : headers) s += "\n  " + n + ": " + v;
  s += "\n  body[" + std::to_string(body_bytes) + "]: " + body.substr(0, 300);
  return s;
}

HttpClient::~HttpClient() { close(); }

void HttpClient::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  buffer_.clear();
}

void HttpClient::shutdownWrite() {
  if (fd_ >= 0) ::shutdown(fd_, SHUT_WR);
}

bool HttpClient::connect(uint16_t port, std::chrono::milliseconds timeout) {
  close();
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd_ < 0) {
    error_ = std::string("socket: ") + std::strerror(errno);
    return false;
  }
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    if (errno != EINPROGRESS) {
      error_ = std::string("connect: ") + std::strerror(errno);
      close();
      return false;
    }
    if (!waitFd(POLLOUT, Clock::now() + timeout)) {
      error_ = "connect: timeout";
      close();
      return false;
    }
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      error_ = std::string("connect: ") + std::strerror(err);
      close();
      return false;
    }
  }
  return true;
}

bool HttpClient::waitFd(short events, Clock::time_point deadline) {
  for (;;) {
    pollfd p{fd_, events, 0};
    int r = ::poll(&p, 1, remainingMs(deadline));
    if (r > 0) return true;
    if (r == 0) return false;
    if (errno != EINTR) return false;
  }
}

long HttpClient::fill(Clock::time_point deadline) {
  if (fd_ < 0) return -1;
  char tmp[1 << 16];
  for (;;) {
    ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n > 0) {
      buffer_.append(tmp, static_cast<size_t>(n));
      return n;
    }
    if (n == 0) return 0;
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      error_ = std::string("recv: ") + std::strerror(errno);
      return -1;
    }
    if (!waitFd(POLLIN, deadline)) return -2;
  }
}

bool HttpClient::send(std::string_view bytes, std::chrono::milliseconds timeout) {
  if (fd_ < 0) {
    error_ = "send: not connected";
    return false;
  }
  auto deadline = Clock::now() + timeout;
  while (!bytes.empty()) {
    ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n > 0) {
      bytes.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!waitFd(POLLOUT, deadline)) {
        error_ = "send: timeout";
        return false;
      }
      continue;
    }
    error_ = std::string("send: ") + std::strerror(errno);
    return false;
  }
  return true;
}

bool HttpClient::sendPattern(uint64_t size, size_t chunk_size, std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  const size_t piece = chunk_size > 0 ? chunk_size : size_t{1} << 16;
  std::string buf;
  for (uint64_t done = 0; done < size;) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(piece, size - done));
    buf.resize(n);
    Checksum::fillPattern(buf.data(), done, n);
    if (chunk_size > 0) {
      char line[32];
      std::snprintf(line, sizeof line, "%zx\r\n", n);
      buf = line + buf + "\r\n";
    }
    if (!send(buf, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now())))
      return false;
    done += n;
  }
  if (chunk_size > 0) return send("0\r\n\r\n");
  return true;
}

HttpResponse HttpClient::readResponse(const ReadOptions& options) {
  HttpResponse out;
  if (fd_ < 0) {
    out.error = "not connected";
    return out;
  }
  auto deadline = Clock::now() + options.timeout;
  std::vector<char> tmp(1 << 16);
  for (;;) {  // one iteration per response; 1xx responses loop
    http::response_parser<http::buffer_body> parser;
    parser.header_limit(1 << 20);
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    if (options.head) parser.skip(true);
    Checksum sum;
    out.body.clear();
    bool head_reported = false;
    while (!parser.is_done()) {
      beast::error_code ec;
      if (!buffer_.empty()) {
        // buffer_body advances body().data as it fills, so remember whether it was armed.
        bool armed = parser.is_header_done();
        if (armed) {
          parser.get().body().data = tmp.data();
          parser.get().body().size = tmp.size();
        }
        size_t used = parser.put(boost::asio::buffer(buffer_.data(), buffer_.size()), ec);
        buffer_.erase(0, used);
        if (armed) {
          size_t n = tmp.size() - parser.get().body().size;
          sum.update(tmp.data(), n);
          if (options.keep_body) out.body.append(tmp.data(), n);
          parser.get().body().data = nullptr;
        }
        if (parser.is_header_done() && !head_reported) {
          head_reported = true;
          if (options.after_head && !(parser.get().result_int() / 100 == 1)) {
            HttpResponse head;
            head.status = static_cast<int>(parser.get().result_int());
            options.after_head(head);
          }
        }
        if (ec == http::error::need_buffer) continue;
        if (ec && ec != http::error::need_more) {
          out.read_status = ReadStatus::kParseError;
          out.error = ec.message();
          return out;
        }
        if (used > 0 || parser.is_done()) continue;
      }
      long r = fill(deadline);
      if (r == -2) {
        out.read_status = ReadStatus::kTimeout;
        out.error = "no complete response within " + std::to_string(options.timeout.count()) +
                    " ms (" + std::to_string(sum.bytes()) + " body bytes read)";
        return out;
      }
      if (r == -1) {
        out.read_status = ReadStatus::kClosed;
        out.error = error_;
        return out;
      }
      if (r == 0) {
        // Beast asserts in put_eof() when the parser was given no byte: say so instead.
        if (!parser.got_some()) {
          out.read_status = ReadStatus::kClosed;
          out.error = "connection closed before any response byte";
          return out;
        }
        parser.put_eof(ec);  // completes a close-delimited body; otherwise a partial message
        if (ec) {
          out.read_status = ReadStatus::kClosed;
          out.error = "connection closed before the response was complete (" + ec.message() + ", " +
                      std::to_string(sum.bytes()) + " body bytes read)";
          return out;
        }
      }
    }
    auto& msg = parser.get();
    out.status = static_cast<int>(msg.result_int());
    out.version = msg.version();
    out.headers.clear();
    for (const auto& f : msg)
      out.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
    if (options.skip_informational && out.status >= 100 && out.status < 200 && out.status != 101) {
      out.informational.push_back(out.status);
      continue;
    }
    out.chunked = msg.chunked();
    out.keep_alive = msg.keep_alive();
    out.body_bytes = sum.bytes();
    out.body_checksum = sum.hex();
    out.read_status = ReadStatus::kOk;
    return out;
  }
}

HttpResponse HttpClient::roundTrip(std::string_view request, ReadOptions options) {
  if (request.substr(0, 5) == "HEAD ") options.head = true;
  if (!send(request)) {
    HttpResponse out;
    out.read_status = fd_ < 0 ? ReadStatus::kNotConnected : ReadStatus::kClosed;
    out.error = error_;
    return out;
  }
  return readResponse(options);
}

std::string HttpClient::readRaw(size_t n, std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (buffer_.size() < n) {
    if (fill(deadline) <= 0) break;
  }
  std::string out = buffer_.substr(0, std::min(n, buffer_.size()));
  buffer_.erase(0, out.size());
  return out;
}

bool HttpClient::waitForClose(std::chrono::milliseconds timeout, std::string* received) {
  auto deadline = Clock::now() + timeout;
  for (;;) {
    long r = fill(deadline);
    if (received) *received += buffer_;
    buffer_.clear();
    if (r == 0 || r == -1) return true;
    if (r == -2) return false;
  }
}

std::string HttpClient::buildRequest(std::string_view method, std::string_view target,
                                     const HeaderList& headers, std::string_view body) {
  std::string s = std::string(method) + " " + std::string(target) + " HTTP/1.1\r\n";
  bool has_host = false, has_length = false;
  for (const auto& [n, v] : headers) {
    if (iequals(n, "host")) has_host = true;
    if (iequals(n, "content-length") || iequals(n, "transfer-encoding")) has_length = true;
  }
  if (!has_host) s += "Host: localhost\r\n";
  for (const auto& [n, v] : headers) s += n + ": " + v + "\r\n";
  if (!body.empty() && !has_length) s += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  s += "\r\n";
  s += body;
  return s;
}

HttpResponse HttpClient::get(uint16_t port, std::string_view target, const HeaderList& headers,
                             std::chrono::milliseconds timeout) {
  HttpClient c;
  if (!c.connect(port, timeout)) {
    HttpResponse out;
    out.error = c.lastError();
    return out;
  }
  HeaderList h = headers;
  h.emplace_back("Connection", "close");
  ReadOptions o;
  o.timeout = timeout;
  return c.roundTrip(buildRequest("GET", target, h), o);
}

}  // namespace switchyard::support
