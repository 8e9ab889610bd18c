#pragma once
// One HTTP/2 client connection to one upstream instance, on one worker: an nghttp2 client
// session over a socket, carrying many request streams at once. Worker thread only.
//
// A stream is opened with submit() and answered through its H2StreamHandler. The request body is
// pushed in pieces (sendData, then endBody with optional trailers); the connection buffers them
// per stream and the handler hears onH2BodyWritable() once the buffer has drained below
// kBodyLowWater, which is its backpressure. Response DATA is flow-controlled by the consumer:
// the window reopens only as the handler calls consume() for the bytes it has passed on.
//
// Lifecycle (State): kConnecting --connected--> kOpen --GOAWAY from the server or goAway()-->
// kGoingAway --last stream ended--> kClosed; any --socket or protocol error, close()--> kClosed.
// Streams above a GOAWAY's last_stream_id, streams the server refused (REFUSED_STREAM) and
// streams of a connection that never connected end with a failure marked retryable: the
// instance processed nothing of them.
//
// Parting: goAway() sends GOAWAY(NO_ERROR) and closes once the last stream has ended and the
// frame is written (an idle-timeout close, a departed instance, the gateway's shutdown), so the
// instance sees a polite end rather than a bare FIN.
//
// Keepalive (Options::keepalive_interval_ms > 0, as Envoy's connection_keepalive): once no byte
// has arrived for the interval, a PING goes out; when nothing at all arrives within
// keepalive_timeout_ms of it (any frame counts, so an ACK queued behind a long response does
// not kill a busy connection), the instance is taken as gone (a hung process, a partition, a
// dropped NAT entry): the connection closes and its open streams fail as kLost, which the
// request retries by its usual rules; the pool then opens a new connection for new streams.
//
// The bytes go through a ClientStream: plain TCP (h2c, prior knowledge) or TLS (h2: the
// handshake must select "h2" by ALPN, else the connection fails as a TLS failure).

#include <nghttp2/nghttp2.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/time_source.h"
#include "proxy/client_stream.h"
#include "proxy/h2_allocator.h"

namespace switchyard::proxy {

class TlsClientContext;

struct H2Header {
  std::string name;  // lower case; pseudo-headers start with ':'
  std::string value;
};
using H2Headers = std::vector<H2Header>;

// A header field by reference, for a request head whose strings live elsewhere (nghttp2 copies
// them as the stream is submitted).
struct H2HeaderRef {
  std::string_view name;
  std::string_view value;
};

// Why a stream ended without a complete response.
enum class H2Failure {
  kConnect,  // the connection was never established: nothing reached the instance
  kRefused,  // REFUSED_STREAM or above a GOAWAY's last_stream_id: not processed, safe to retry
  kReset,    // RST_STREAM with another code: the instance may have processed it
  kLost,     // the connection failed (socket error, protocol error, closed) with the stream open
  kTls,      // the TLS handshake failed (verification, no "h2" by ALPN): nothing was sent
};
const char* toString(H2Failure f);

// Per-stream callbacks, on the worker thread, from inside the connection's I/O handlers. A
// handler may call back into the connection (consume, sendData, cancel) from any of them.
// After onH2End or onH2Fail nothing more is called.
class H2StreamHandler {
 public:
  virtual ~H2StreamHandler() = default;
  // A response head: interim (1xx, more heads follow) or final. `end_stream`: no body follows
  // (onH2End comes next).
  virtual void onH2Head(unsigned status, const H2Headers& headers, bool end_stream) = 0;
  // Response body bytes, valid during the call only. Their window reopens when the handler
  // calls consume() for them.
  virtual void onH2Data(std::string_view data) = 0;
  virtual void onH2Trailers(const H2Headers& trailers) = 0;
  // The response is complete (END_STREAM from the instance).
  virtual void onH2End() = 0;
  // The stream ended without a complete response; `code` is the HTTP/2 error code if any.
  virtual void onH2Fail(H2Failure failure, uint32_t code, std::string_view detail) = 0;
  // The request body buffered for this stream fell below kBodyLowWater: more may be pushed.
  virtual void onH2BodyWritable() = 0;
};

class H2ClientConnection : public std::enable_shared_from_this<H2ClientConnection> {
 public:
  struct Options {
    uint32_t connect_timeout_ms = 250;
    // Streams assumed allowed before the server's SETTINGS arrive (RFC 9113 suggests >= 100).
    uint32_t initial_max_streams = 100;
    uint32_t stream_window = 256 * 1024;           // our receive window per stream
    uint32_t connection_window = 4 * 1024 * 1024;  // ... and for the whole connection
    // TLS towards the instance (protocol h2): the cluster's client context, ALPN "h2"; null for
    // cleartext (h2c).
    std::shared_ptr<const TlsClientContext> tls;
    // The cluster's http2 section: PING after this long without a byte received (0 = never),
    // and how long to wait for a byte after it before the connection counts as dead.
    uint32_t keepalive_interval_ms = 0;
    uint32_t keepalive_timeout_ms = 5000;
  };
  static constexpr std::size_t kBodyLowWater = 64 * 1024;

  // `stream` is unconnected: plain, or TLS towards the instance (ClientStream's client side).
  H2ClientConnection(ClientStream stream, boost::asio::ip::tcp::endpoint endpoint, Options options);
  ~H2ClientConnection();
  H2ClientConnection(const H2ClientConnection&) = delete;
  H2ClientConnection& operator=(const H2ClientConnection&) = delete;

  // Called once, when the connection reaches kClosed (the owner forgets it then).
  void setOnClosed(std::function<void()> fn) { on_closed_ = std::move(fn); }

  // Starts the TCP connect (and then the HTTP/2 preface). Streams may be submitted at once.
  void connect();

  // Opens a stream: `headers` holds the pseudo-headers first (:method, :scheme, :authority,
  // :path). With `has_body` the body follows through sendData()/endBody(); without it the
  // HEADERS frame ends the stream. Returns the stream id, or 0 when the connection cannot take
  // another stream (see canOpenStream).
  int32_t submit(const H2Headers& headers, bool has_body, H2StreamHandler* handler);
  // The same with the fields by reference: they need to live during the call only.
  int32_t submit(std::span<const H2HeaderRef> headers, bool has_body, H2StreamHandler* handler);
  // Request body bytes for stream `id` (copied). Ignored once the stream has ended.
  void sendData(int32_t id, std::string_view bytes);
  // The request body is complete; non-empty `trailers` are sent as a trailing HEADERS frame.
  void endBody(int32_t id, H2Headers trailers = {});
  // Request body bytes buffered for `id` and not yet framed.
  std::size_t bufferedBody(int32_t id) const;
  // The handler has passed on `n` response bytes of stream `id`: their window reopens.
  void consume(int32_t id, std::size_t n);
  // The handler gives the stream up: RST_STREAM(CANCEL) if still open; no callback follows.
  void cancel(int32_t id);

  // Room for one more stream: open or connecting, no GOAWAY either way, below the server's
  // MAX_CONCURRENT_STREAMS.
  bool canOpenStream() const;
  bool closed() const { return state_ == State::kClosed; }
  bool settingsReceived() const { return settings_received_; }
  bool connectFailed() const { return connect_failed_; }
  bool connected() const { return state_ == State::kOpen || state_ == State::kGoingAway; }
  std::size_t activeStreams() const { return streams_.size(); }
  uint32_t maxStreams() const;
  TimePoint idleSince() const { return idle_since_; }
  uint64_t streamsOpened() const { return streams_opened_; }
  // Socket writes made: one per loop turn however many streams the turn submitted.
  uint64_t writes() const { return writes_; }
  uint64_t pingsSent() const { return pings_sent_; }

  // No new streams; GOAWAY(NO_ERROR) to the server; the connection closes when its last stream
  // ends (a departed instance, an idle-timeout close).
  void goAway();
  // Closes now: every open stream fails with kLost (kConnect before the connection was up).
  void close(std::string_view why = "connection closed");

 private:
  enum class State { kConnecting, kOpen, kGoingAway, kClosed };
  struct Stream;
  using StreamMap = std::unordered_map<int32_t, std::unique_ptr<Stream>>;

  // Opens a stream with the header list in nv_.
  int32_t submitPrepared(bool has_body, H2StreamHandler* handler);

  void onConnected(boost::system::error_code ec);
  void read();
  void onRead(boost::system::error_code ec, std::size_t n);
  // Frames what nghttp2 has to send and writes it.
  void flush();
  // Called after anything that may queue frames: one flush after the handlers of this loop turn
  // have run, so that the streams submitted by many client connections (and the window updates
  // of one read) share one socket write. A write in progress flushes again when it completes.
  void scheduleFlush();
  void fail(H2Failure why, std::string_view detail);
  void closeIfDone();
  // Keepalive: the timer fires when the next PING is due or the one sent has timed out.
  void armKeepalive(TimePoint at);
  void onKeepaliveTimer();
  void onPingAck();
  void eraseStream(int32_t id);
  Stream* stream(int32_t id) const;

  // nghttp2 callbacks (user_data is the connection).
  static int onBeginHeaders(nghttp2_session*, const nghttp2_frame*, void*);
  static int onHeader(nghttp2_session*, const nghttp2_frame*, const uint8_t*, size_t,
                      const uint8_t*, size_t, uint8_t, void*);
  static int onFrameRecv(nghttp2_session*, const nghttp2_frame*, void*);
  static int onDataChunk(nghttp2_session*, uint8_t, int32_t, const uint8_t*, size_t, void*);
  static int onStreamClose(nghttp2_session*, int32_t, uint32_t, void*);
  static ssize_t readBody(nghttp2_session*, int32_t, uint8_t*, size_t, uint32_t*,
                          nghttp2_data_source*, void*);

  ClientStream stream_;
  boost::asio::steady_timer connect_timer_;
  boost::asio::steady_timer keepalive_timer_;
  const boost::asio::ip::tcp::endpoint endpoint_;
  const Options options_;
  H2Allocator alloc_;  // before session_: the session frees through it
  nghttp2_session* session_ = nullptr;
  State state_ = State::kConnecting;
  StreamMap streams_;
  // Ended streams' map nodes, their Stream kept, reused by the next submits (no allocation per
  // stream once the connection has seen its peak).
  std::vector<StreamMap::node_type> spare_streams_;
  std::vector<nghttp2_nv> nv_;  // the header list being submitted
  // The header block being received: one at a time on a connection (its frames are contiguous).
  // Entries past recv_count_ keep their strings' capacity for the next block.
  H2Headers recv_headers_;
  std::size_t recv_count_ = 0;
  std::vector<int32_t> writable_;  // streams whose body buffer drained, told after a flush
  std::vector<uint8_t> in_buf_;
  std::string out_;  // bytes being written
  bool writing_ = false;
  bool flush_posted_ = false;
  bool in_callbacks_ = false;  // inside nghttp2_session_mem_recv: no mem_send now
  bool settings_received_ = false;
  bool connect_failed_ = false;
  TimePoint idle_since_;
  TimePoint last_received_;  // the last byte from the instance (keepalive)
  TimePoint ping_sent_at_;   // the keepalive PING waiting for an answer, when ping_outstanding_
  bool ping_outstanding_ = false;
  uint64_t streams_opened_ = 0;
  uint64_t writes_ = 0;
  uint64_t pings_sent_ = 0;
  std::function<void()> on_closed_;
};

}  // namespace switchyard::proxy
