#include "proxy/h2_server_session.h"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <charconv>

#include "proxy/stats.h"
#include "proxy/worker.h"

namespace switchyard::proxy {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

constexpr std::size_t kReadSize = 32 * 1024;
// Output gathered per write; more waits for the next turn (the socket is slower than nghttp2).
constexpr std::size_t kMaxWriteBytes = 256 * 1024;
// Between the drain's shutdown notice and the final GOAWAY: a client's in-flight HEADERS land.
constexpr auto kGoawayGrace = std::chrono::milliseconds(100);
// After our last GOAWAY, how long the client may take to close before we do.
constexpr auto kCloseLinger = std::chrono::milliseconds(2000);

std::string_view asView(const uint8_t* p, std::size_t n) {
  return {reinterpret_cast<const char*>(p), n};
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// nghttp2 callbacks: each finds its session in user_data and does nothing once it is closed.

struct H2ServerSession::Callbacks {
  static H2ServerSession& self(void* user_data) {
    return *static_cast<H2ServerSession*>(user_data);
  }

  static int onBeginHeaders(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
    auto& s = self(user_data);
    if (s.closed_ || frame->hd.type != NGHTTP2_HEADERS ||
        frame->headers.cat != NGHTTP2_HCAT_REQUEST)
      return 0;
    auto stream = std::make_unique<H2Stream>(s, frame->hd.stream_id);
    stream->head.client_ip = s.client_ip_;
    s.streams_.emplace(frame->hd.stream_id, std::move(stream));
    ++s.stats_.http2_streams;
    s.updateIdleDeadline();
    return 0;
  }

  static int onHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                      size_t namelen, const uint8_t* value, size_t valuelen, uint8_t,
                      void* user_data) {
    auto& s = self(user_data);
    if (s.closed_ || frame->hd.type != NGHTTP2_HEADERS) return 0;
    H2Stream* st = s.stream(frame->hd.stream_id);
    if (!st) return 0;
    st->header_bytes += static_cast<uint32_t>(namelen + valuelen + 32);
    if (st->header_bytes > s.listener().limits.max_header_bytes) st->header_too_large = true;
    if (st->header_too_large) return 0;  // keep decoding (HPACK state), stop storing
    const std::string_view n = asView(name, namelen);
    const std::string_view v = asView(value, valuelen);
    if (st->headers_done) {  // trailers
      st->trailers.emplace_back(n, v);
      return 0;
    }
    auto& h = st->head;
    if (!n.empty() && n[0] == ':') {
      if (n == ":method")
        h.method.assign(v);
      else if (n == ":scheme")
        h.scheme.assign(v);
      else if (n == ":authority")
        h.authority.assign(v);
      else if (n == ":path")
        h.path.assign(v);
      return 0;
    }
    if (n == "content-length") {
      uint64_t len = 0;
      auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), len);
      if (ec == std::errc() && p == v.data() + v.size()) h.content_length = len;
    }
    h.fields.emplace_back(n, v);
    return 0;
  }

  static int onFrameRecv(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
    auto& s = self(user_data);
    if (s.closed_) return 0;
    s.last_frame_type_ = frame->hd.type;
    const auto now = s.worker_.time().now();
    auto flood = [&](FloodKind kind) {
      if (s.guard_.allow(kind, now)) return false;
      s.flood_kind_ = kind;
      return true;
    };
    switch (frame->hd.type) {
      case NGHTTP2_RST_STREAM:
        if (flood(FloodKind::kRstStream)) return NGHTTP2_ERR_CALLBACK_FAILURE;
        return 0;
      case NGHTTP2_SETTINGS:
        if (!(frame->hd.flags & NGHTTP2_FLAG_ACK) && flood(FloodKind::kSettings))
          return NGHTTP2_ERR_CALLBACK_FAILURE;
        return 0;
      case NGHTTP2_PING:
        if (!(frame->hd.flags & NGHTTP2_FLAG_ACK) && flood(FloodKind::kPing))
          return NGHTTP2_ERR_CALLBACK_FAILURE;
        return 0;
      case NGHTTP2_DATA: {
        if (frame->hd.length == 0 && !(frame->hd.flags & NGHTTP2_FLAG_END_STREAM) &&
            flood(FloodKind::kEmptyData))
          return NGHTTP2_ERR_CALLBACK_FAILURE;
        H2Stream* st = s.stream(frame->hd.stream_id);
        if (st && (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
          st->request_ended = true;
          if (st->exchange) st->exchange->endBody();
        }
        return 0;
      }
      case NGHTTP2_HEADERS: {
        H2Stream* st = s.stream(frame->hd.stream_id);
        if (!st) return 0;
        const bool end_stream = frame->hd.flags & NGHTTP2_FLAG_END_STREAM;
        if (!st->headers_done) {
          st->headers_done = true;
          st->request_ended = end_stream;
          if (st->header_too_large) {
            if (flood(FloodKind::kHeaders)) return NGHTTP2_ERR_CALLBACK_FAILURE;
            s.answerLocally(*st, 431, "request-header-too-large",
                            "the request header exceeds " +
                                std::to_string(s.listener().limits.max_header_bytes) + " bytes");
            return 0;
          }
          s.startRequest(*st);
          return 0;
        }
        // Trailers: the request ends with them.
        st->request_ended = true;
        if (st->exchange) st->exchange->endBody(std::move(st->trailers));
        return 0;
      }
      default:
        return 0;
    }
  }

  static int onDataChunk(nghttp2_session* session, uint8_t, int32_t stream_id, const uint8_t* data,
                         size_t len, void* user_data) {
    auto& s = self(user_data);
    if (s.closed_) return 0;
    H2Stream* st = s.stream(stream_id);
    if (!st || !st->exchange || st->exchange->done()) {
      // Nobody wants these bytes: give the window back at once.
      nghttp2_session_consume(session, stream_id, len);
      return 0;
    }
    st->body_received += len;
    const uint64_t limit = s.listener().limits.max_body_bytes;
    if (limit && st->body_received > limit) {
      nghttp2_session_consume(session, stream_id, len);
      if (!st->responded) {
        st->exchange->cancel();
        s.answerLocally(*st, 413, "request-body-too-large",
                        "the request body exceeds " + std::to_string(limit) + " bytes");
      }
      return 0;  // the rest of the body is refused once the answer ends (onFrameSend)
    }
    st->unconsumed += len;
    st->exchange->pushBody(asView(data, len));
    return 0;
  }

  static int onStreamClose(nghttp2_session*, int32_t stream_id, uint32_t error_code,
                           void* user_data) {
    auto& s = self(user_data);
    if (s.closed_) return 0;
    s.closeStream(stream_id, error_code);
    return 0;
  }

  static int onFrameSend(nghttp2_session* session, const nghttp2_frame* frame, void* user_data) {
    auto& s = self(user_data);
    if (s.closed_) return 0;
    if (frame->hd.type == NGHTTP2_GOAWAY) {
      if (frame->goaway.error_code != NGHTTP2_NO_ERROR && !s.terminated_) {
        // nghttp2's own verdict on what the client sent (PROTOCOL_ERROR, COMPRESSION_ERROR...).
        ++s.stats_.http2_protocol_errors;
        s.terminated_ = true;
        s.closing_ = true;
      }
      return 0;
    }
    // The answer is complete while the client still sends: tell it to stop (RFC 9113 8.1).
    if ((frame->hd.type == NGHTTP2_DATA || frame->hd.type == NGHTTP2_HEADERS) &&
        (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
      H2Stream* st = s.stream(frame->hd.stream_id);
      if (st && !st->request_ended)
        nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, frame->hd.stream_id,
                                  NGHTTP2_NO_ERROR);
    }
    return 0;
  }
};

// ---------------------------------------------------------------------------------------------

H2ServerSession::H2ServerSession(Worker& worker, uint32_t listener_index, ClientStream socket,
                                 std::string_view initial)
    : worker_(worker),
      listener_index_(listener_index),
      stats_(worker.listenerStats(listener_index)),
      socket_(std::move(socket)),
      initial_(initial) {
  registration_ = worker_.registerSession(this);
  ++stats_.connections_open;
  ++stats_.http2_connections;
  error_code ec;
  auto ep = socket_.socket().remote_endpoint(ec);
  if (!ec) client_ip_ = ep.address().to_string();

  nghttp2_session_callbacks* cbs = nullptr;
  nghttp2_session_callbacks_new(&cbs);
  nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, Callbacks::onBeginHeaders);
  nghttp2_session_callbacks_set_on_header_callback(cbs, Callbacks::onHeader);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, Callbacks::onFrameRecv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, Callbacks::onDataChunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, Callbacks::onStreamClose);
  nghttp2_session_callbacks_set_on_frame_send_callback(cbs, Callbacks::onFrameSend);
  nghttp2_option* opt = nullptr;
  nghttp2_option_new(&opt);
  nghttp2_option_set_no_auto_window_update(opt, 1);
  // nghttp2's own limits stay on behind H2FloodGuard's stricter ones (Debian's 1.52.0-1+deb12u3
  // has the rapid-reset limiter of CVE-2023-44487 and the CONTINUATION limit of CVE-2024-28182).
  nghttp2_option_set_max_outbound_ack(opt, 1000);
  nghttp2_option_set_stream_reset_rate_limit(opt, 1000, 300);
  nghttp2_option_set_max_continuations(opt, 8);
  nghttp2_session_server_new2(&session_, cbs, this, opt);
  nghttp2_option_del(opt);
  nghttp2_session_callbacks_del(cbs);
}

H2ServerSession::~H2ServerSession() {
  closed_ = true;
  for (auto& [id, st] : streams_)
    if (st->exchange) st->exchange->cancel();
  nghttp2_session_del(session_);
  streams_.clear();
  worker_.unregisterSession(registration_);
  --stats_.connections_open;
}

const config::Listener& H2ServerSession::listener() const {
  return worker_.snapshot().config->listeners[listener_index_];
}

void H2ServerSession::start() {
  // The listener's http2 section as it is now: a reload changes what later connections announce,
  // never what this one already did.
  const config::ListenerHttp2& h2 = listener().http2;
  const nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, h2.max_concurrent_streams},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, h2.initial_stream_window_bytes},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, listener().limits.max_header_bytes},
  };
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, std::size(settings));
  // The config keeps it within 2^31-1.
  nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0,
                                        static_cast<int32_t>(h2.connection_window_bytes));
  updateIdleDeadline();
  in_.resize(kReadSize);
  std::string initial = std::move(initial_);
  if (!initial.empty() &&
      !receive(reinterpret_cast<const uint8_t*>(initial.data()), initial.size()))
    return;
  scheduleFlush();
  read();
}

void H2ServerSession::read() {
  if (reading_ || closed_ || (closing_ && !lingering_)) return;
  reading_ = true;
  socket_.async_read_some(
      asio::buffer(in_),
      [self = shared_from_this()](error_code ec, std::size_t n) { self->onRead(ec, n); });
}

void H2ServerSession::onRead(error_code ec, std::size_t n) {
  reading_ = false;
  if (closed_) return;
  if (ec) return abort();         // the client went away: its streams end with it
  if (lingering_) return read();  // discarded: only the client's close is awaited
  if (closing_) return;
  if (!receive(in_.data(), n)) return;
  scheduleFlush();
  read();
}

bool H2ServerSession::receive(const uint8_t* data, std::size_t n) {
  const ssize_t rv = nghttp2_session_mem_recv(session_, data, n);
  if (closed_) return false;
  if (flood_kind_) {
    onFlood(*flood_kind_);
    return false;
  }
  if (rv < 0) {
    if (rv == NGHTTP2_ERR_FLOODED) {
      // nghttp2's outbound ACK queue is full: a PING or SETTINGS flood the client does not read.
      onFlood(last_frame_type_ == NGHTTP2_SETTINGS ? FloodKind::kSettings : FloodKind::kPing);
    } else if (rv == NGHTTP2_ERR_TOO_MANY_CONTINUATIONS) {
      onFlood(FloodKind::kHeaders);
    } else {
      ++stats_.http2_protocol_errors;
      terminate(rv == NGHTTP2_ERR_BAD_CLIENT_MAGIC ? NGHTTP2_PROTOCOL_ERROR
                                                   : NGHTTP2_INTERNAL_ERROR);
    }
    return false;
  }
  if (!nghttp2_session_want_read(session_)) {
    // nghttp2 answered a malformed frame with its own GOAWAY, or both sides are done.
    scheduleFlush();
    return false;
  }
  return true;
}

void H2ServerSession::onFlood(FloodKind kind) {
  if (flooded_) return;
  flooded_ = true;
  ++stats_.http2_flood_closed[std::string(floodKindName(kind))];
  spdlog::warn("http2: closing a connection from {} on listener {}: {} flood", client_ip_,
               listener().name, floodKindName(kind));
  terminate(NGHTTP2_ENHANCE_YOUR_CALM);
}

void H2ServerSession::terminate(uint32_t error_code) {
  if (closed_) return;
  terminated_ = true;
  nghttp2_session_terminate_session(session_, error_code);
  closing_ = true;
  deadline_ = Clock::now() + kCloseLinger;
  // Streams are abandoned: their exchanges stop now.
  for (auto& [id, st] : streams_)
    if (st->exchange) st->exchange->cancel();
  scheduleFlush();
}

void H2ServerSession::scheduleFlush() {
  if (flush_posted_ || closed_) return;
  flush_posted_ = true;
  asio::post(socket_.get_executor(), [self = shared_from_this()] { self->flush(); });
}

void H2ServerSession::flush() {
  flush_posted_ = false;
  if (closed_ || writing_) return;
  out_.clear();
  for (;;) {
    const uint8_t* data = nullptr;
    const ssize_t n = nghttp2_session_mem_send(session_, &data);
    if (closed_) return;
    if (n < 0) return abort();
    if (n == 0) break;
    out_.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
    if (out_.size() >= kMaxWriteBytes) break;
  }
  // Exchanges paused on a full stream buffer may read again (never from inside mem_send).
  if (!to_resume_.empty()) {
    std::vector<int32_t> ids;
    ids.swap(to_resume_);
    for (int32_t id : ids)
      if (H2Stream* st = stream(id); st && st->exchange) st->exchange->resumeResponse();
  }
  if (out_.empty()) return maybeClose();
  writing_ = true;
  asio::async_write(
      socket_, asio::buffer(out_),
      [self = shared_from_this()](error_code ec, std::size_t) { self->onWritten(ec); });
}

void H2ServerSession::onWritten(error_code ec) {
  writing_ = false;
  if (closed_) return;
  if (ec) return abort();
  flush();
}

void H2ServerSession::maybeClose() {
  if (closed_ || writing_) return;
  const bool done = closing_ || (final_goaway_sent_ && streams_.empty()) ||
                    (!nghttp2_session_want_read(session_) && !nghttp2_session_want_write(session_));
  if (!done) return;
  // Everything we had to say is written. Lingering close: stop sending and discard what the
  // client still sends until it closes, so that unread bytes do not turn into a reset that
  // destroys our GOAWAY before the client reads it.
  if (lingering_) return;
  lingering_ = true;
  socket_.shutdownSend([self = shared_from_this()](error_code ec) {
    if (ec && ec != asio::error::operation_aborted) self->abort();
  });
  closing_ = true;
  deadline_ = Clock::now() + kCloseLinger;
  for (auto& [id, st] : streams_)
    if (st->exchange) st->exchange->cancel();
  read();
}

void H2ServerSession::abort() {
  if (closed_) return;
  closed_ = true;
  deadline_ = TimePoint::max();
  for (auto& [id, st] : streams_)
    if (st->exchange) st->exchange->cancel();
  socket_.close();
}

void H2ServerSession::drain() {
  if (draining_ || closed_) return;
  draining_ = true;
  // Tell the client to open no more streams; the final GOAWAY follows a moment later, even with
  // nothing in flight: a stream the client sent meanwhile is then processed, not refused (it
  // would fail, as a client need not retry a refused stream it may already have given up on).
  nghttp2_submit_shutdown_notice(session_);
  final_goaway_at_ = Clock::now() + kGoawayGrace;
  scheduleFlush();
}

void H2ServerSession::checkDeadline(TimePoint now) {
  if (closed_) return;
  if (now >= final_goaway_at_) {
    final_goaway_at_ = TimePoint::max();
    nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE,
                          nghttp2_session_get_last_proc_stream_id(session_), NGHTTP2_NO_ERROR,
                          nullptr, 0);
    final_goaway_sent_ = true;
    scheduleFlush();
  }
  for (auto& [id, st] : streams_)
    if (st->exchange) st->exchange->checkDeadline(now);
  if (now < deadline_) return;
  deadline_ = TimePoint::max();
  if (closing_) return abort();  // the client did not close after our GOAWAY
  // Idle: no stream for idle_timeout_ms.
  nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE,
                        nghttp2_session_get_last_proc_stream_id(session_), NGHTTP2_NO_ERROR,
                        nullptr, 0);
  final_goaway_sent_ = true;
  closing_ = true;
  deadline_ = now + kCloseLinger;
  scheduleFlush();
}

void H2ServerSession::updateIdleDeadline() {
  if (closing_ || closed_) return;
  if (!streams_.empty()) {
    deadline_ = TimePoint::max();
    return;
  }
  const uint32_t ms = listener().limits.idle_timeout_ms;
  deadline_ = ms == 0 ? TimePoint::max() : Clock::now() + std::chrono::milliseconds(ms);
}

// ---------------------------------------------------------------------------------------------
// Streams.

H2Stream* H2ServerSession::stream(int32_t id) {
  auto it = streams_.find(id);
  return it == streams_.end() ? nullptr : it->second.get();
}

void H2ServerSession::startRequest(H2Stream& s) {
  auto& h = s.head;
  if (h.method == "CONNECT")
    return answerLocally(s, 501, "not-implemented", "CONNECT is not supported");
  h.has_body = !s.request_ended;
  if (h.scheme.empty())
    h.scheme = listener().protocol == config::ListenerProtocol::kHttps ? "https" : "http";
  s.head_request = h.method == "HEAD";
  s.exchange = std::make_shared<UpstreamRequest>(worker_, listener_index_, s);
  s.exchange->start(std::move(s.head));
}

void H2ServerSession::answerLocally(H2Stream& s, unsigned status, std::string_view cause,
                                    std::string_view detail) {
  countRequestError(cause, status);
  s.onGatewayError(status, cause, detail);
}

void H2ServerSession::countRequestError(std::string_view cause, unsigned status) {
  ++stats_.errors[std::string(cause)];
  stats_.requests.add(status);
}

void H2ServerSession::consume(H2Stream& s, std::size_t n) {
  n = std::min(n, s.unconsumed);
  if (n == 0 || closed_) return;
  s.unconsumed -= n;
  nghttp2_session_consume(session_, s.id(), n);
  scheduleFlush();
}

void H2ServerSession::resumeData(H2Stream& s) {
  if (!s.deferred_ || closed_) return;
  s.deferred_ = false;
  nghttp2_session_resume_data(session_, s.id());
  scheduleFlush();
}

void H2ServerSession::closeStream(int32_t id, uint32_t) {
  auto it = streams_.find(id);
  if (it == streams_.end()) return;
  auto st = std::move(it->second);
  streams_.erase(it);
  if (st->exchange) st->exchange->cancel();
  // Bytes the exchange never took still count against the connection's window.
  if (st->unconsumed > 0) nghttp2_session_consume_connection(session_, st->unconsumed);
  updateIdleDeadline();
  if (draining_ || closing_) scheduleFlush();  // maybe the last one: close when written
}

}  // namespace switchyard::proxy
