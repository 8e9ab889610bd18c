#pragma once
// A blocking HTTP/1.1 client over a raw loopback socket, for tests that need control of the
// exact bytes: malformed requests, pipelining, slow senders, keep-alive reuse, tunnels. The
// response is parsed with Beast's parser so framing (Content-Length, chunked, close-delimited,
// HEAD, 1xx) is right. Every operation has a deadline, so no test can hang on it.

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "tests/support/test_backend.h"  // HeaderList

namespace switchyard::support {

using namespace std::chrono_literals;

enum class ReadStatus {
  kOk,            // a complete response
  kTimeout,       // the deadline passed first
  kClosed,        // the peer closed or reset the connection before the response was complete
  kParseError,    // the bytes are not HTTP/1.1
  kNotConnected,  // connect() failed or was not called
};
const char* toString(ReadStatus s);

struct HttpResponse {
  ReadStatus read_status = ReadStatus::kNotConnected;
  std::string error;  // why, when read_status != kOk
  int status = 0;
  unsigned version = 11;
  HeaderList headers;
  std::string body;           // empty when ReadOptions::keep_body is false
  uint64_t body_bytes = 0;    // counted even when the body is not kept
  std::string body_checksum;  // Checksum::hex() of the body
  bool chunked = false;
  bool keep_alive = false;         // the server will keep the connection open
  std::vector<int> informational;  // 1xx statuses skipped before this one (100, 103...)

  bool ok() const { return read_status == ReadStatus::kOk; }
  std::string header(std::string_view name) const;  // first value, case-insensitive; "" if none
  bool hasHeader(std::string_view name) const;
  // Status, error and headers, for assertion messages.
  std::string describe() const;
};

struct ReadOptions {
  bool head = false;                        // the request was HEAD: no body follows
  bool keep_body = true;                    // false: count and checksum only (huge bodies)
  bool skip_informational = true;           // skip 1xx (except 101) and read the final response
  std::chrono::milliseconds timeout = 10s;  // for the whole response
  // Called after the head was parsed, before the body is read (e.g. to pause reading).
  std::function<void(const HttpResponse&)> after_head;

  static ReadOptions within(std::chrono::milliseconds t) {
    ReadOptions o;
    o.timeout = t;
    return o;
  }
  ReadOptions& discardBody() {
    keep_body = false;
    return *this;
  }
  ReadOptions& keepInformational() {
    skip_informational = false;
    return *this;
  }
};

class HttpClient {
 public:
  HttpClient() = default;
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Connects to 127.0.0.1:port (TCP_NODELAY). False (and lastError()) on failure.
  bool connect(uint16_t port, std::chrono::milliseconds timeout = 3s);
  bool isOpen() const { return fd_ >= 0; }
  void close();
  void shutdownWrite();
  const std::string& lastError() const { return error_; }

  // Writes every byte before the deadline; false if the peer closed or the deadline passed.
  bool send(std::string_view bytes, std::chrono::milliseconds timeout = 10s);
  // Writes bytes [0, size) of Checksum's pattern as they are produced (never held whole);
  // with chunk_size > 0, in chunked transfer coding with chunks of that size.
  bool sendPattern(uint64_t size, size_t chunk_size = 0, std::chrono::milliseconds timeout = 60s);

  HttpResponse readResponse(const ReadOptions& options = {});
  // send() then readResponse(); head is derived from the request's method.
  HttpResponse roundTrip(std::string_view request, ReadOptions options = {});

  // Reads exactly n raw bytes (after any buffered by the parser); fewer when the peer closed
  // or the deadline passed.
  std::string readRaw(size_t n, std::chrono::milliseconds timeout = 5s);
  // True when the peer closes (EOF or reset) before the deadline; any bytes received are
  // appended to *received when given.
  bool waitForClose(std::chrono::milliseconds timeout, std::string* received = nullptr);

  // "METHOD TARGET HTTP/1.1" + headers (+ Host: localhost and Content-Length when missing and
  // a body is given) + body.
  static std::string buildRequest(std::string_view method, std::string_view target,
                                  const HeaderList& headers = {}, std::string_view body = {});
  // One request on a fresh connection (with Connection: close).
  static HttpResponse get(uint16_t port, std::string_view target, const HeaderList& headers = {},
                          std::chrono::milliseconds timeout = 10s);

 private:
  // Waits for the socket to become readable/writable before the deadline.
  bool waitFd(short events, std::chrono::steady_clock::time_point deadline);
  // Appends what arrives to buffer_: >0 bytes read, 0 on EOF, -1 on error, -2 on timeout.
  long fill(std::chrono::steady_clock::time_point deadline);

  int fd_ = -1;
  std::string buffer_;  // bytes received and not yet consumed
  std::string error_;
};

}  // namespace switchyard::support
