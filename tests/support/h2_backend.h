#pragma once
// A real HTTP/2 cleartext backend (h2c, prior knowledge) for integration tests: nghttp2 server
// sessions on 127.0.0.1:0, served on the backend's own thread, with behaviour chosen per
// request. It can answer gRPC-like (trailers), echo a request body while it arrives (a
// bidirectional stream), refuse streams (REFUSED_STREAM), send GOAWAY after some streams on a
// connection, or die in the middle of a response. It can also be frozen (a hung process, a
// partition: nothing it receives is processed, nothing is sent), and it records the GOAWAY and
// PING frames its clients send.
//
// Threads: the public methods may be called from any thread; the handler runs on the backend's
// own thread and must not block (use H2BackendBehavior::delay for slowness).

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace switchyard::support {

using H2HeaderList = std::vector<std::pair<std::string, std::string>>;

// A request as the backend received it.
struct H2BackendRequest {
  std::string method;
  std::string scheme;
  std::string authority;
  std::string path;
  H2HeaderList headers;        // regular fields, in order
  H2HeaderList trailers;       // request trailers, if any
  std::string body;            // the whole body (tests send small ones)
  bool complete = false;       // END_STREAM arrived
  uint64_t connection_id = 0;  // 1-based, in accept order
  int32_t stream_id = 0;

  std::string header(std::string_view name) const;  // first value; empty when absent
};

enum class H2BackendMode {
  kFixed,           // status, body, headers, then trailers if any (after the request ended)
  kEcho,            // head at once, then every request DATA piece echoed as it arrives; ends
                    // when the request ends, with the behaviour's trailers
  kRefuse,          // RST_STREAM(REFUSED_STREAM) as soon as the request head arrives
  kDieMidResponse,  // head and half of `body`, then the connection is closed
  kClose,           // the connection is closed as soon as the request head arrives
};

struct H2BackendBehavior {
  H2BackendMode mode = H2BackendMode::kFixed;
  int status = 200;
  std::string body;  // kFixed, kDieMidResponse; empty = "hello from NAME"
  H2HeaderList headers;
  H2HeaderList trailers;
  std::chrono::milliseconds delay{0};  // kFixed: after the request ended, before answering

  static H2BackendBehavior fixed(int status = 200, std::string body = {});
  static H2BackendBehavior grpc(std::string body, std::string grpc_status = "0");
  static H2BackendBehavior echo();
  static H2BackendBehavior refuse();
  static H2BackendBehavior dieMidResponse(std::string body);
  static H2BackendBehavior closeConnection();
};

// Called once per request when its head arrived (body not yet read).
using H2BackendHandler = std::function<H2BackendBehavior(const H2BackendRequest&)>;

struct H2BackendOptions {
  uint32_t max_concurrent_streams = 100;  // SETTINGS_MAX_CONCURRENT_STREAMS
  // When > 0: after this many streams on a connection, GOAWAY names the last one; later streams
  // are refused by it, the connection closes once the named ones are answered.
  uint32_t goaway_after = 0;
};

class H2Backend {
 public:
  explicit H2Backend(std::string name = "h2backend", H2BackendOptions options = {});
  ~H2Backend();  // stop()s
  H2Backend(const H2Backend&) = delete;
  H2Backend& operator=(const H2Backend&) = delete;

  const std::string& name() const;
  uint16_t port() const;
  std::string address() const;  // "127.0.0.1:PORT"

  void setBehavior(H2BackendBehavior behavior);
  void setHandler(H2BackendHandler handler);

  uint64_t connectionCount() const;  // accepted since start
  uint64_t streamCount() const;      // request heads received since start
  // RST_STREAM frames received from clients.
  uint64_t resetsReceived() const;
  // The most streams open at once on one connection.
  uint32_t maxConcurrentSeen() const;
  // The error codes of the GOAWAY frames received from clients, in arrival order.
  std::vector<uint32_t> goawaysReceived() const;
  // PING frames received from clients (not ACKs); each is answered unless frozen.
  uint64_t pingsReceived() const;
  // Connections open now (accepted and not yet closed by either side).
  uint64_t openConnections() const;
  // Frozen: connections (new ones too) still read their bytes but hold them unprocessed, and
  // send nothing, no SETTINGS, no answer, no PING ACK; unfreezing processes what was held.
  void setFrozen(bool frozen);
  // Requests whose body ended (or that were answered), in completion order.
  std::vector<H2BackendRequest> requests() const;
  bool waitForRequests(size_t n, std::chrono::milliseconds timeout) const;

  // Closes the listener and every connection, and joins the thread. Idempotent.
  void stop();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace switchyard::support
