#pragma once
// One client connection speaking HTTP/2 (h2c with prior knowledge on http listeners; h2 over
// TLS when ALPN picked it on https listeners), on one worker, for its whole life. One nghttp2
// server session per connection: each stream becomes an UpstreamRequest (H2Stream is its sink).
//
// - Request bodies use manual flow control (nghttp2_option_set_no_auto_window_update): a DATA
//   frame's bytes are given back to the client's window only when the exchange has taken them
//   upstream, so a slow instance slows the uploader, not the gateway's memory.
// - Response bodies go through a data provider that defers when nothing is buffered and is
//   resumed when the exchange delivers more; a stream buffering too much pauses its exchange.
// - Output is coalesced: every nghttp2_session_mem_send() of a loop turn goes out in one write.
// - SETTINGS from the listener's http2 section when the connection starts (defaults: 100
//   concurrent streams, a 256 KiB stream window, a 1 MiB connection window; a stream beyond the
//   limit gets REFUSED_STREAM) and MAX_HEADER_LIST_SIZE = limits.max_header_bytes (over it a
//   stream gets 431). A reload changes them for later connections only.
// - Floods (H2FloodGuard) and the attacks nghttp2 detects itself (outbound ACK queue, too many
//   CONTINUATION frames, its own RST_STREAM rate limit) close this connection only, with GOAWAY
//   ENHANCE_YOUR_CALM and a count in ListenerStats::http2_flood_closed; a malformed frame gets
//   nghttp2's own GOAWAY (PROTOCOL_ERROR, ...), counted in http2_protocol_errors.
// - Drain: a GOAWAY shutdown notice, the final GOAWAY with the last stream id one tick later,
//   and the connection closes once the open streams are done. With no open stream, the
//   listener's idle_timeout_ms closes it with GOAWAY too.
//
// The session owns the socket; nghttp2 does no I/O (bytes in through mem_recv, out through
// mem_send). Worker thread only.

#include <nghttp2/nghttp2.h>

#include <boost/asio/ip/tcp.hpp>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/time_source.h"
#include "config/config.h"
#include "proxy/client_stream.h"
#include "proxy/downstream_session.h"
#include "proxy/h2_flood_guard.h"
#include "proxy/h2_stream.h"

namespace switchyard::proxy {

class Worker;
struct ListenerStats;

class H2ServerSession final : public DownstreamSession,
                              public std::enable_shared_from_this<H2ServerSession> {
 public:
  // "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n": the first bytes of an h2c prior-knowledge connection.
  static constexpr std::string_view kClientPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

  // `initial` holds bytes already read from the socket (the preface, and possibly more). The
  // creator has counted the accepted connection (ListenerStats::connections_accepted).
  H2ServerSession(Worker& worker, uint32_t listener_index, ClientStream socket,
                  std::string_view initial);
  ~H2ServerSession() override;
  H2ServerSession(const H2ServerSession&) = delete;
  H2ServerSession& operator=(const H2ServerSession&) = delete;

  void start();
  void drain() override;
  void checkDeadline(TimePoint now) override;
  void abort() override;

 private:
  friend class H2Stream;
  struct Callbacks;  // the nghttp2 callbacks, as static functions with access to the session

  const config::Listener& listener() const;
  void read();
  void onRead(boost::system::error_code ec, std::size_t n);
  // Feeds client bytes to nghttp2; false when the connection is being closed.
  bool receive(const uint8_t* data, std::size_t n);
  // Schedules one flush for this loop turn (write coalescing).
  void scheduleFlush();
  void flush();
  void onWritten(boost::system::error_code ec);
  // Closes with GOAWAY `error_code` after what is queued has been written.
  void terminate(uint32_t error_code);
  void onFlood(FloodKind kind);
  void maybeClose();
  void updateIdleDeadline();

  // Streams.
  H2Stream* stream(int32_t id);
  void startRequest(H2Stream& s);
  // The gateway's own answer on a stream that has no exchange (bad head, over a limit).
  void answerLocally(H2Stream& s, unsigned status, std::string_view cause,
                     std::string_view detail);
  void consume(H2Stream& s, std::size_t n);
  void resumeData(H2Stream& s);
  void closeStream(int32_t id, uint32_t error_code);
  void countRequestError(std::string_view cause, unsigned status);

  Worker& worker_;
  const uint32_t listener_index_;
  ListenerStats& stats_;
  ClientStream socket_;  // plain (h2c) or TLS (h2)
  std::string client_ip_;
  std::list<DownstreamSession*>::iterator registration_;
  nghttp2_session* session_ = nullptr;
  H2FloodGuard guard_;
  std::unordered_map<int32_t, std::unique_ptr<H2Stream>> streams_;
  std::vector<int32_t> to_resume_;  // streams whose exchange may read again after a flush
  std::vector<nghttp2_nv> nv_scratch_;  // a response head's fields, reused stream to stream

  std::string initial_;  // bytes read before the session existed
  std::vector<uint8_t> in_;
  std::string out_;
  bool reading_ = false;
  bool writing_ = false;
  bool flush_posted_ = false;
  bool closed_ = false;
  bool closing_ = false;  // a final GOAWAY is queued: close once it is written
  bool lingering_ = false;  // our side is shut; the client's bytes are read and dropped
  bool draining_ = false;
  bool final_goaway_sent_ = false;
  bool flooded_ = false;
  std::optional<FloodKind> flood_kind_;  // set by a callback, acted on after mem_recv
  uint8_t last_frame_type_ = 0;          // the last frame received (to name an ACK flood)
  bool terminated_ = false;  // a GOAWAY with an error went out (ours or nghttp2's own)
  TimePoint deadline_ = TimePoint::max();        // idle (no open stream) or the close linger
  TimePoint final_goaway_at_ = TimePoint::max();  // drain: when the final GOAWAY goes
};

}  // namespace switchyard::proxy
