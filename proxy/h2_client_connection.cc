#include "proxy/h2_client_connection.h"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <cstring>

#include "proxy/upstream_host.h"

namespace switchyard::proxy {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

constexpr std::size_t kReadSize = 64 * 1024;
// Frames gathered into one socket write at most (more is written by the next flush).
constexpr std::size_t kWriteBatch = 64 * 1024;

nghttp2_nv makeNv(std::string_view name, std::string_view value) {
  return nghttp2_nv{reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
                    reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(),
                    value.size(), NGHTTP2_NV_FLAG_NONE};
}

template <class Fields>
void makeNvs(const Fields& headers, std::vector<nghttp2_nv>& nv) {
  nv.clear();
  for (const auto& h : headers) nv.push_back(makeNv(h.name, h.value));
}

// Ended streams kept for reuse per connection at most, and the body buffer a kept stream may
// hold on to.
constexpr std::size_t kMaxSpareStreams = 256;
constexpr std::size_t kMaxSpareBody = 64 * 1024;

}  // namespace

const char* toString(H2Failure f) {
  switch (f) {
    case H2Failure::kConnect:
      return "connect";
    case H2Failure::kRefused:
      return "refused";
    case H2Failure::kReset:
      return "reset";
    case H2Failure::kLost:
      return "lost";
    case H2Failure::kTls:
      return "tls";
  }
  return "?";
}

struct H2ClientConnection::Stream {
  int32_t id = 0;
  H2StreamHandler* handler = nullptr;  // null once cancelled
  // Request body not yet framed: body[body_off..].
  std::string body;
  std::size_t body_off = 0;
  bool has_body = false;
  bool body_end = false;
  bool deferred = false;  // readBody answered DEFERRED: resume when bytes come
  bool low_water_told = true;
  H2Headers trailers;
  // Response.
  unsigned status = 0;
  bool final_head = false;  // a final (non-1xx) head was delivered
  bool remote_ended = false;
  std::size_t unconsumed = 0;  // bytes delivered whose window the handler has not reopened

  std::size_t buffered() const { return body.size() - body_off; }

  // Back to a new stream's state, keeping the buffers' capacity for the next one.
  void reset() {
    id = 0;
    handler = nullptr;
    body.clear();
    if (body.capacity() > kMaxSpareBody) body.shrink_to_fit();
    body_off = 0;
    has_body = body_end = deferred = false;
    low_water_told = true;
    trailers.clear();
    status = 0;
    final_head = remote_ended = false;
    unconsumed = 0;
  }
};

H2ClientConnection::H2ClientConnection(ClientStream stream, tcp::endpoint endpoint, Options options)
    : stream_(std::move(stream)),
      connect_timer_(stream_.get_executor()),
      keepalive_timer_(stream_.get_executor()),
      endpoint_(endpoint),
      options_(options),
      in_buf_(kReadSize),
      idle_since_(Clock::now()) {
  nghttp2_session_callbacks* cbs = nullptr;
  nghttp2_session_callbacks_new(&cbs);
  nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, &onBeginHeaders);
  nghttp2_session_callbacks_set_on_header_callback(cbs, &onHeader);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, &onFrameRecv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, &onDataChunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, &onStreamClose);
  nghttp2_option* opt = nullptr;
  nghttp2_option_new(&opt);
  // The window reopens as the consumer takes bytes (consume()), not as they arrive.
  nghttp2_option_set_no_auto_window_update(opt, 1);
  nghttp2_option_set_peer_max_concurrent_streams(opt, options_.initial_max_streams);
  nghttp2_session_client_new3(&session_, cbs, this, opt, alloc_.mem());
  nghttp2_option_del(opt);
  nghttp2_session_callbacks_del(cbs);

  const nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, options_.stream_window},
  };
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, std::size(settings));
  nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0,
                                        static_cast<int32_t>(options_.connection_window));
}

H2ClientConnection::~H2ClientConnection() {
  // Streams are not told: whoever drops the last reference has no handler left to call.
  streams_.clear();
  nghttp2_session_del(session_);
}

void H2ClientConnection::connect() {
  auto self = shared_from_this();
  stream_.asyncConnect(endpoint_, [self](error_code ec) { self->onConnected(ec); });
  connect_timer_.expires_after(std::chrono::milliseconds(options_.connect_timeout_ms));
  // The connection counts as made once the server's SETTINGS arrive: a peer that accepts TCP
  // but never speaks HTTP/2 (a hung process, the wrong port) fails within the same time.
  connect_timer_.async_wait([self](error_code ec) {
    if (ec || self->settings_received_ || self->state_ == State::kClosed) return;
    if (self->state_ == State::kConnecting)
      return self->fail(H2Failure::kConnect, "connect timed out");
    self->fail(H2Failure::kLost, "no HTTP/2 SETTINGS from the instance within connect_timeout_ms");
  });
}

void H2ClientConnection::onConnected(error_code ec) {
  if (state_ == State::kClosed) return;
  if (ec && stream_.handshakeStarted())
    return fail(H2Failure::kTls, "TLS handshake failed: " + stream_.describeError(ec));
  if (ec) return fail(H2Failure::kConnect, "connect failed: " + ec.message());
  if (stream_.isTls() && stream_.alpnProtocol() != "h2")
    return fail(H2Failure::kTls, "the instance did not select h2 by ALPN");
  tuneUpstreamSocket(stream_.socket());
  if (state_ == State::kConnecting) state_ = State::kOpen;
  last_received_ = Clock::now();
  if (options_.keepalive_interval_ms > 0)
    armKeepalive(last_received_ + std::chrono::milliseconds(options_.keepalive_interval_ms));
  read();
  flush();
}

void H2ClientConnection::armKeepalive(TimePoint at) {
  keepalive_timer_.expires_at(at);
  keepalive_timer_.async_wait([self = shared_from_this()](error_code ec) {
    if (!ec) self->onKeepaliveTimer();
  });
}

void H2ClientConnection::onKeepaliveTimer() {
  if (state_ == State::kClosed) return;
  const auto now = Clock::now();
  const auto timeout = std::chrono::milliseconds(options_.keepalive_timeout_ms);
  if (ping_outstanding_) {
    // Any byte since the PING extends its deadline: the ACK may be queued behind a response.
    const auto deadline = std::max(ping_sent_at_, last_received_) + timeout;
    if (now < deadline) return armKeepalive(deadline);
    spdlog::warn(
        "upstream {}:{}: no answer to a keepalive PING within {} ms; closing the HTTP/2 "
        "connection ({} stream(s) open)",
        endpoint_.address().to_string(), endpoint_.port(), options_.keepalive_timeout_ms,
        streams_.size());
    return fail(H2Failure::kLost, "no answer to a keepalive PING within keepalive_timeout_ms");
  }
  const auto due = last_received_ + std::chrono::milliseconds(options_.keepalive_interval_ms);
  if (now < due) return armKeepalive(due);
  nghttp2_submit_ping(session_, NGHTTP2_FLAG_NONE, nullptr);
  ping_outstanding_ = true;
  ping_sent_at_ = now;
  ++pings_sent_;
  flush();
  if (state_ != State::kClosed) armKeepalive(now + timeout);
}

void H2ClientConnection::onPingAck() {
  if (!ping_outstanding_ || state_ == State::kClosed) return;
  ping_outstanding_ = false;
  armKeepalive(last_received_ + std::chrono::milliseconds(options_.keepalive_interval_ms));
}

// ---------------------------------------------------------------------------------------------
// Streams.

int32_t H2ClientConnection::submit(const H2Headers& headers, bool has_body,
                                   H2StreamHandler* handler) {
  if (!canOpenStream()) return 0;
  makeNvs(headers, nv_);
  return submitPrepared(has_body, handler);
}

int32_t H2ClientConnection::submit(std::span<const H2HeaderRef> headers, bool has_body,
                                   H2StreamHandler* handler) {
  if (!canOpenStream()) return 0;
  makeNvs(headers, nv_);
  return submitPrepared(has_body, handler);
}

int32_t H2ClientConnection::submitPrepared(bool has_body, H2StreamHandler* handler) {
  StreamMap::node_type node;
  if (!spare_streams_.empty()) {
    node = std::move(spare_streams_.back());
    spare_streams_.pop_back();
  } else {
    StreamMap fresh;  // a node of its own, moved into streams_ below
    node = fresh.extract(fresh.emplace(0, std::make_unique<Stream>()).first);
  }
  Stream* s = node.mapped().get();
  s->handler = handler;
  s->has_body = has_body;
  nghttp2_data_provider prd;
  prd.source.ptr = s;
  prd.read_callback = &readBody;
  const int32_t id = nghttp2_submit_request(session_, nullptr, nv_.data(), nv_.size(),
                                            has_body ? &prd : nullptr, s);
  if (id < 0) {
    s->reset();
    spare_streams_.push_back(std::move(node));
    return 0;
  }
  s->id = id;
  node.key() = id;
  streams_.insert(std::move(node));
  ++streams_opened_;
  scheduleFlush();
  return id;
}

H2ClientConnection::Stream* H2ClientConnection::stream(int32_t id) const {
  auto it = streams_.find(id);
  return it == streams_.end() ? nullptr : it->second.get();
}

void H2ClientConnection::sendData(int32_t id, std::string_view bytes) {
  Stream* s = stream(id);
  if (!s || !s->has_body || s->body_end || bytes.empty()) return;
  if (s->body_off > 0 && s->body_off == s->body.size()) {
    s->body.clear();
    s->body_off = 0;
  }
  s->body.append(bytes);
  s->low_water_told = false;
  if (s->deferred) {
    s->deferred = false;
    nghttp2_session_resume_data(session_, id);
  }
  scheduleFlush();
}

void H2ClientConnection::endBody(int32_t id, H2Headers trailers) {
  Stream* s = stream(id);
  if (!s || !s->has_body || s->body_end) return;
  s->body_end = true;
  s->trailers = std::move(trailers);
  if (s->deferred) {
    s->deferred = false;
    nghttp2_session_resume_data(session_, id);
  }
  scheduleFlush();
}

std::size_t H2ClientConnection::bufferedBody(int32_t id) const {
  const Stream* s = stream(id);
  return s ? s->buffered() : 0;
}

void H2ClientConnection::consume(int32_t id, std::size_t n) {
  if (n == 0 || state_ == State::kClosed) return;
  if (Stream* s = stream(id)) s->unconsumed -= std::min(n, s->unconsumed);
  // For a stream already closed this still reopens the connection's window.
  nghttp2_session_consume(session_, id, n);
  scheduleFlush();
}

void H2ClientConnection::cancel(int32_t id) {
  Stream* s = stream(id);
  if (!s) return;
  s->handler = nullptr;
  if (state_ == State::kClosed) return eraseStream(id);
  if (s->unconsumed > 0) {
    nghttp2_session_consume(session_, id, s->unconsumed);
    s->unconsumed = 0;
  }
  // Both sides ended (the response's END_STREAM is being processed as onH2End runs): the stream
  // closes by itself, and a RST would be a frame on a closed stream.
  if (nghttp2_session_get_stream_local_close(session_, id) == 1 &&
      (s->remote_ended || nghttp2_session_get_stream_remote_close(session_, id) == 1))
    return;
  // The stream entry goes when nghttp2 closes the stream (after the RST is sent).
  nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
  scheduleFlush();
}

uint32_t H2ClientConnection::maxStreams() const {
  if (!settings_received_) return options_.initial_max_streams;
  return nghttp2_session_get_remote_settings(session_, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
}

bool H2ClientConnection::canOpenStream() const {
  if (state_ != State::kConnecting && state_ != State::kOpen) return false;
  if (!nghttp2_session_check_request_allowed(session_)) return false;
  return streams_.size() < maxStreams();
}

void H2ClientConnection::eraseStream(int32_t id) {
  auto node = streams_.extract(id);
  if (!node) return;
  if (spare_streams_.size() < kMaxSpareStreams) {
    node.mapped()->reset();
    spare_streams_.push_back(std::move(node));
  }
  if (streams_.empty()) idle_since_ = Clock::now();
}

// ---------------------------------------------------------------------------------------------
// I/O.

void H2ClientConnection::read() {
  stream_.async_read_some(
      asio::buffer(in_buf_),
      [self = shared_from_this()](error_code ec, std::size_t n) { self->onRead(ec, n); });
}

void H2ClientConnection::onRead(error_code ec, std::size_t n) {
  if (state_ == State::kClosed) return;
  if (ec) return fail(H2Failure::kLost, "upstream connection lost: " + ec.message());
  if (options_.keepalive_interval_ms > 0) last_received_ = Clock::now();
  auto self = shared_from_this();  // a handler may drop the last other reference
  in_callbacks_ = true;
  const ssize_t rv = nghttp2_session_mem_recv(session_, in_buf_.data(), n);
  in_callbacks_ = false;
  if (state_ == State::kClosed) return;
  if (rv < 0)
    return fail(H2Failure::kLost,
                std::string("HTTP/2 protocol error from upstream: ") + nghttp2_strerror(int(rv)));
  // What the handlers queued (window updates, new streams) goes out with the rest of this turn.
  scheduleFlush();
  read();
}

void H2ClientConnection::scheduleFlush() {
  if (flush_posted_ || writing_ || state_ == State::kConnecting || state_ == State::kClosed) return;
  flush_posted_ = true;
  asio::post(stream_.get_executor(), [self = shared_from_this()] {
    self->flush_posted_ = false;
    self->flush();
  });
}

void H2ClientConnection::flush() {
  if (writing_ || in_callbacks_ || state_ == State::kConnecting || state_ == State::kClosed) return;
  auto self = shared_from_this();
  out_.clear();
  // Sending may close streams (their handlers hear of it and may submit again): no nested send,
  // what they queue is picked up by this loop.
  in_callbacks_ = true;
  ssize_t n = 0;
  while (out_.size() < kWriteBatch && state_ != State::kClosed) {
    const uint8_t* data = nullptr;
    n = nghttp2_session_mem_send(session_, &data);
    if (n <= 0) break;
    out_.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
  }
  in_callbacks_ = false;
  if (state_ == State::kClosed) return;
  if (n < 0)
    return fail(H2Failure::kLost, std::string("HTTP/2 send error: ") + nghttp2_strerror(int(n)));
  if (!out_.empty()) {
    writing_ = true;
    ++writes_;
    stream_.asyncWrite(asio::buffer(out_), [self](error_code ec, std::size_t) {
      self->writing_ = false;
      if (self->state_ == State::kClosed) return;
      if (ec) return self->fail(H2Failure::kLost, "upstream write failed: " + ec.message());
      self->flush();
    });
  }
  // Handlers whose body drained may push more now (their sendData will flush after the write).
  if (!writable_.empty()) {
    auto ids = std::move(writable_);
    writable_.clear();
    for (int32_t id : ids)
      if (Stream* s = stream(id); s && s->handler && state_ != State::kClosed)
        s->handler->onH2BodyWritable();
  }
  if (!writing_) closeIfDone();
}

void H2ClientConnection::closeIfDone() {
  if (state_ == State::kClosed) return;
  const bool done = state_ == State::kGoingAway && streams_.empty();
  const bool dead = !nghttp2_session_want_read(session_) && !nghttp2_session_want_write(session_);
  if (done || dead) close(done ? "going away" : "session ended");
}

void H2ClientConnection::goAway() {
  if (state_ == State::kClosed || state_ == State::kGoingAway) return;
  const bool was_connecting = state_ == State::kConnecting;
  state_ = State::kGoingAway;
  if (was_connecting) {
    // Nothing went out yet: fail what waits instead of connecting for it.
    if (streams_.empty()) return close("going away before connecting");
  }
  nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE, 0, NGHTTP2_NO_ERROR, nullptr, 0);
  if (!was_connecting) flush();
  // Closing now would cut the GOAWAY being written: the write's completion closes instead.
  if (!writing_) closeIfDone();
}

void H2ClientConnection::close(std::string_view why) {
  if (state_ == State::kClosed) return;
  const bool connected = state_ != State::kConnecting;
  fail(connected ? H2Failure::kLost : H2Failure::kConnect, why);
}

void H2ClientConnection::fail(H2Failure why, std::string_view detail) {
  if (state_ == State::kClosed) return;
  if (why == H2Failure::kConnect) connect_failed_ = true;
  state_ = State::kClosed;
  auto self = shared_from_this();
  connect_timer_.cancel();
  keepalive_timer_.cancel();
  stream_.close();
  // Tell every stream still waiting; a handler may cancel or submit elsewhere meanwhile.
  auto streams = std::move(streams_);
  streams_.clear();
  for (auto& [id, s] : streams)
    if (s->handler && !s->remote_ended) s->handler->onH2Fail(why, 0, detail);
  if (auto fn = std::move(on_closed_)) fn();
}

// ---------------------------------------------------------------------------------------------
// nghttp2 callbacks.

int H2ClientConnection::onBeginHeaders(nghttp2_session*, const nghttp2_frame* frame, void* ud) {
  auto* c = static_cast<H2ClientConnection*>(ud);
  if (frame->hd.type == NGHTTP2_HEADERS) c->recv_count_ = 0;
  return 0;
}

int H2ClientConnection::onHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                                 size_t namelen, const uint8_t* value, size_t valuelen, uint8_t,
                                 void* ud) {
  auto* c = static_cast<H2ClientConnection*>(ud);
  Stream* s = c->stream(frame->hd.stream_id);
  if (!s) return 0;
  std::string_view n(reinterpret_cast<const char*>(name), namelen);
  std::string_view v(reinterpret_cast<const char*>(value), valuelen);
  if (n == ":status") {
    unsigned status = 0;
    for (char ch : v) status = status * 10 + static_cast<unsigned>(ch - '0');
    s->status = status;  // nghttp2's HTTP messaging checks have validated three digits
    return 0;
  }
  // Assigned into a kept entry where there is one: its strings reuse their capacity.
  if (c->recv_count_ < c->recv_headers_.size()) {
    H2Header& h = c->recv_headers_[c->recv_count_];
    h.name.assign(n);
    h.value.assign(v);
  } else {
    c->recv_headers_.push_back(H2Header{std::string(n), std::string(v)});
  }
  ++c->recv_count_;
  return 0;
}

int H2ClientConnection::onFrameRecv(nghttp2_session*, const nghttp2_frame* frame, void* ud) {
  auto* c = static_cast<H2ClientConnection*>(ud);
  switch (frame->hd.type) {
    case NGHTTP2_SETTINGS:
      if (!(frame->hd.flags & NGHTTP2_FLAG_ACK)) {
        c->settings_received_ = true;
        c->connect_timer_.cancel();
      }
      return 0;
    case NGHTTP2_PING:
      if (frame->hd.flags & NGHTTP2_FLAG_ACK) c->onPingAck();
      return 0;
    case NGHTTP2_GOAWAY:
      // nghttp2 closes the streams above last_stream_id with REFUSED_STREAM; the others finish.
      if (c->state_ == State::kOpen || c->state_ == State::kConnecting)
        c->state_ = State::kGoingAway;
      return 0;
    case NGHTTP2_HEADERS:
    case NGHTTP2_DATA:
      break;
    default:
      return 0;
  }
  Stream* s = c->stream(frame->hd.stream_id);
  if (!s) return 0;
  const bool end = frame->hd.flags & NGHTTP2_FLAG_END_STREAM;
  if (frame->hd.type == NGHTTP2_HEADERS) {
    c->recv_headers_.resize(c->recv_count_);
    if (!s->final_head) {
      const bool interim = s->status >= 100 && s->status < 200;
      if (!interim) s->final_head = true;
      if (end) s->remote_ended = true;
      if (s->handler) s->handler->onH2Head(s->status, c->recv_headers_, end && !interim);
    } else {
      if (end) s->remote_ended = true;
      if (s->handler) s->handler->onH2Trailers(c->recv_headers_);
    }
  } else if (end) {
    s->remote_ended = true;
  }
  // The handler may have cancelled the stream above; look it up again.
  s = c->stream(frame->hd.stream_id);
  if (end && s && s->handler) {
    H2StreamHandler* h = s->handler;
    s->handler = nullptr;  // complete: nothing more is told, whatever happens to the stream
    h->onH2End();
  }
  return 0;
}

int H2ClientConnection::onDataChunk(nghttp2_session* session, uint8_t, int32_t stream_id,
                                    const uint8_t* data, size_t len, void* ud) {
  auto* c = static_cast<H2ClientConnection*>(ud);
  Stream* s = c->stream(stream_id);
  if (!s || !s->handler) {
    // Nobody takes these bytes: reopen the window at once.
    nghttp2_session_consume(session, stream_id, len);
    return 0;
  }
  s->unconsumed += len;
  s->handler->onH2Data(std::string_view(reinterpret_cast<const char*>(data), len));
  return 0;
}

int H2ClientConnection::onStreamClose(nghttp2_session*, int32_t stream_id, uint32_t code,
                                      void* ud) {
  auto* c = static_cast<H2ClientConnection*>(ud);
  Stream* s = c->stream(stream_id);
  if (!s) return 0;
  H2StreamHandler* h = s->handler;
  const bool complete = s->remote_ended;
  c->eraseStream(stream_id);
  if (!h || complete) return 0;
  if (code == NGHTTP2_REFUSED_STREAM) {
    h->onH2Fail(H2Failure::kRefused, code, "the instance refused the stream");
  } else {
    h->onH2Fail(H2Failure::kReset, code,
                std::string("the instance reset the stream: ") + nghttp2_http2_strerror(code));
  }
  return 0;
}

ssize_t H2ClientConnection::readBody(nghttp2_session* session, int32_t stream_id, uint8_t* buf,
                                     size_t length, uint32_t* flags, nghttp2_data_source* source,
                                     void* ud) {
  auto* c = static_cast<H2ClientConnection*>(ud);
  auto* s = static_cast<Stream*>(source->ptr);
  const std::size_t avail = s->buffered();
  if (avail == 0 && !s->body_end) {
    s->deferred = true;
    return NGHTTP2_ERR_DEFERRED;
  }
  const std::size_t n = std::min(length, avail);
  if (n > 0) std::memcpy(buf, s->body.data() + s->body_off, n);
  s->body_off += n;
  if (s->body_off == s->body.size()) {
    s->body.clear();
    s->body_off = 0;
  }
  if (s->body_end && s->buffered() == 0) {
    *flags |= NGHTTP2_DATA_FLAG_EOF;
    if (!s->trailers.empty()) {
      makeNvs(s->trailers, c->nv_);
      if (nghttp2_submit_trailer(session, stream_id, c->nv_.data(), c->nv_.size()) == 0)
        *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
    }
  } else if (!s->low_water_told && s->buffered() < kBodyLowWater) {
    s->low_water_told = true;
    c->writable_.push_back(stream_id);
  }
  return static_cast<ssize_t>(n);
}

}  // namespace switchyard::proxy
