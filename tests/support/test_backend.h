#pragma once
// A real HTTP/1.1 backend for integration tests: it listens on 127.0.0.1:0 (TCP_NODELAY,
// keep-alive) and serves on its own thread, with behaviour chosen per request. It streams
// request bodies (counting bytes and a checksum, never holding more than a small prefix), so a
// test can push hundreds of megabytes through the proxy and compare checksums.
//
// Threads: the public methods may be called from any thread; the handler runs on the backend's
// own thread and must not block (use BackendBehavior::delay for slowness).

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace switchyard::support {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// A request as the backend received it (what the proxy forwarded).
struct BackendRequest {
  std::string method;
  std::string target;
  unsigned version = 11;  // 10 or 11
  HeaderList headers;     // in wire order, names as sent
  uint64_t body_bytes = 0;
  std::string body_checksum;   // Checksum::hex() of the whole body
  std::string body;            // the first kBodyCaptureLimit bytes
  bool body_complete = false;  // the whole body arrived (false after a read error)
  uint64_t connection_id = 0;  // 1-based, in accept order

  static constexpr size_t kBodyCaptureLimit = 1 << 20;

  // First value of the header (case-insensitive name); empty when absent.
  std::string header(std::string_view name) const;
  bool hasHeader(std::string_view name) const;
  size_t headerCount(std::string_view name) const;
};

enum class BackendMode {
  kFixed,             // status + body (default "hello from NAME"), header x-backend: NAME
  kEcho,              // 200, JSON body: method, target, version, headers, body_bytes, checksum
  kStream,            // stream_bytes of Checksum's pattern, chunked or with Content-Length
  kCloseMidResponse,  // announce stream_bytes (Content-Length), send half, close the socket
  kReset,             // read the request, then reset the connection (SO_LINGER 0) unanswered
};
// Independently of the mode, a request carrying `Upgrade: websocket` is answered with 101 and
// the connection then echoes raw bytes until the peer closes. `Expect: 100-continue` is
// answered with an interim 100 before the body is read.

struct BackendBehavior {
  BackendMode mode = BackendMode::kFixed;
  int status = 200;                              // kFixed
  std::string body;                              // kFixed; empty = "hello from NAME"
  HeaderList headers;                            // extra response headers
  uint64_t stream_bytes = 0;                     // kStream, kCloseMidResponse
  bool chunked = true;                           // kStream
  std::chrono::milliseconds delay{0};            // after the body is read, before the response
  std::chrono::milliseconds body_read_delay{0};  // after the head, before reading the body
  bool close_after = false;                      // Connection: close after this response

  static BackendBehavior fixed(int status = 200, std::string body = {});
  static BackendBehavior echo();
  static BackendBehavior stream(uint64_t bytes, bool chunked = true);
  static BackendBehavior delayed(std::chrono::milliseconds delay);
  static BackendBehavior closeMidResponse(uint64_t announced_bytes = 100000);
  static BackendBehavior reset();
};

// Called once per request after its head was read (the body is not read yet, so body fields
// are empty); returns how to answer.
using BackendHandler = std::function<BackendBehavior(const BackendRequest&)>;

class TestBackend {
 public:
  explicit TestBackend(std::string name = "backend");
  ~TestBackend();  // stop()s
  TestBackend(const TestBackend&) = delete;
  TestBackend& operator=(const TestBackend&) = delete;

  const std::string& name() const;
  uint16_t port() const;
  std::string address() const;  // "127.0.0.1:PORT"

  // The behaviour for every request (replaces any handler).
  void setBehavior(BackendBehavior behavior);
  // A per-request choice (replaces the fixed behaviour).
  void setHandler(BackendHandler handler);

  // Requests whose head was read, and connections accepted, since start.
  uint64_t requestCount() const;
  uint64_t connectionCount() const;
  // Requests fully read (body included), in completion order; the last kMaxRecorded.
  std::vector<BackendRequest> requests() const;
  static constexpr size_t kMaxRecorded = 10000;
  // Waits until requests() holds at least n entries; false on timeout.
  bool waitForRequests(size_t n, std::chrono::milliseconds timeout) const;

  // Closes the listener and every connection, and joins the thread. Idempotent.
  void stop();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace switchyard::support
