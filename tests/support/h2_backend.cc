#include "tests/support/h2_backend.h"

#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <thread>

namespace switchyard::support {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

std::string H2BackendRequest::header(std::string_view name) const {
  for (const auto& [n, v] : headers)
    if (n == name) return v;
  return {};
}

H2BackendBehavior H2BackendBehavior::fixed(int status, std::string body) {
  H2BackendBehavior b;
  b.status = status;
  b.body = std::move(body);
  return b;
}

H2BackendBehavior H2BackendBehavior::grpc(std::string body, std::string grpc_status) {
  H2BackendBehavior b;
  b.body = std::move(body);
  b.headers = {{"content-type", "application/grpc"}};
  b.trailers = {{"grpc-status", std::move(grpc_status)}, {"grpc-message", "done"}};
  return b;
}

H2BackendBehavior H2BackendBehavior::echo() {
  H2BackendBehavior b;
  b.mode = H2BackendMode::kEcho;
  b.headers = {{"content-type", "application/grpc"}};
  b.trailers = {{"grpc-status", "0"}};
  return b;
}

H2BackendBehavior H2BackendBehavior::refuse() {
  H2BackendBehavior b;
  b.mode = H2BackendMode::kRefuse;
  return b;
}

H2BackendBehavior H2BackendBehavior::dieMidResponse(std::string body) {
  H2BackendBehavior b;
  b.mode = H2BackendMode::kDieMidResponse;
  b.body = std::move(body);
  return b;
}

H2BackendBehavior H2BackendBehavior::closeConnection() {
  H2BackendBehavior b;
  b.mode = H2BackendMode::kClose;
  return b;
}

namespace {

nghttp2_nv nv(const std::string& name, const std::string& value) {
  return nghttp2_nv{reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
                    reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(),
                    value.size(), NGHTTP2_NV_FLAG_NONE};
}

}  // namespace

class H2Backend::Impl {
 public:
  struct Stream {
    H2BackendRequest request;
    H2BackendBehavior behavior;
    bool head_done = false;
    bool request_ended = false;
    bool responded = false;
    std::string out;  // response body not yet framed
    std::size_t out_off = 0;
    bool out_end = false;  // no more body after `out`
    bool deferred = false;
    bool stall = false;  // kDieMidResponse: never ends
    std::unique_ptr<asio::steady_timer> timer;
  };

  struct Conn : std::enable_shared_from_this<Conn> {
    Conn(Impl& impl, tcp::socket s, uint64_t id) : impl(impl), socket(std::move(s)), id(id) {}
    ~Conn() {
      if (session) nghttp2_session_del(session);
    }
    Impl& impl;
    tcp::socket socket;
    uint64_t id;
    nghttp2_session* session = nullptr;
    std::map<int32_t, Stream> streams;
    uint32_t heads = 0;
    bool goaway_sent = false;
    int32_t goaway_last_id = 0;
    bool die_after_write = false;
    bool writing = false;
    bool closed = false;
    std::string wbuf;
    std::vector<uint8_t> rbuf = std::vector<uint8_t>(16384);
    std::string held;  // bytes read while frozen, processed on unfreeze

    // Processes bytes from the client; false when the connection closed.
    bool receive(const uint8_t* data, std::size_t n);

    void start();
    void read();
    void flush();
    void close() {
      if (closed) return;
      closed = true;
      error_code ignored;
      socket.close(ignored);
      std::lock_guard lock(impl.mu_);
      --impl.open_;
    }
    void respond(int32_t id);
  };

  Impl(std::string name, H2BackendOptions options) : name_(std::move(name)), options_(options) {
    acceptor_.open(tcp::v4());
    acceptor_.set_option(tcp::acceptor::reuse_address(true));
    acceptor_.bind(tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    accept();
    thread_ = std::thread([this] { ctx_.run(); });
  }
  ~Impl() { stop(); }

  void accept() {
    acceptor_.async_accept([this](error_code ec, tcp::socket s) {
      if (ec) return;
      uint64_t id;
      {
        std::lock_guard lock(mu_);
        id = ++connections_;
        ++open_;
      }
      auto c = std::make_shared<Conn>(*this, std::move(s), id);
      conns_.push_back(c);
      c->start();
      accept();
    });
  }

  void stop() {
    std::call_once(stopped_, [this] {
      asio::post(ctx_, [this] {
        error_code ignored;
        acceptor_.close(ignored);
        for (auto& w : conns_)
          if (auto c = w.lock()) c->close();
        ctx_.stop();
      });
      if (thread_.joinable()) thread_.join();
    });
  }

  H2BackendBehavior choose(const H2BackendRequest& r) {
    H2BackendHandler handler;
    H2BackendBehavior behavior;
    {
      std::lock_guard lock(mu_);
      ++streams_;
      handler = handler_;
      behavior = behavior_;
    }
    if (handler) behavior = handler(r);
    if (behavior.body.empty() && behavior.mode == H2BackendMode::kFixed)
      behavior.body = "hello from " + name_;
    return behavior;
  }

  void record(const H2BackendRequest& r) {
    std::lock_guard lock(mu_);
    requests_.push_back(r);
    if (requests_.size() > 10000) requests_.pop_front();
    cv_.notify_all();
  }

  void seenConcurrent(uint32_t n) {
    std::lock_guard lock(mu_);
    max_concurrent_ = std::max(max_concurrent_, n);
  }

  // nghttp2 callbacks.
  static int onBeginHeaders(nghttp2_session*, const nghttp2_frame* f, void* ud) {
    auto* c = static_cast<Conn*>(ud);
    if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
    auto& s = c->streams[f->hd.stream_id];
    s.request.connection_id = c->id;
    s.request.stream_id = f->hd.stream_id;
    c->impl.seenConcurrent(static_cast<uint32_t>(c->streams.size()));
    return 0;
  }

  static int onHeader(nghttp2_session*, const nghttp2_frame* f, const uint8_t* name, size_t namelen,
                      const uint8_t* value, size_t valuelen, uint8_t, void* ud) {
    auto* c = static_cast<Conn*>(ud);
    auto it = c->streams.find(f->hd.stream_id);
    if (it == c->streams.end()) return 0;
    auto& r = it->second.request;
    std::string n(reinterpret_cast<const char*>(name), namelen);
    std::string v(reinterpret_cast<const char*>(value), valuelen);
    if (it->second.head_done) {
      r.trailers.emplace_back(std::move(n), std::move(v));
    } else if (n == ":method") {
      r.method = v;
    } else if (n == ":scheme") {
      r.scheme = v;
    } else if (n == ":authority") {
      r.authority = v;
    } else if (n == ":path") {
      r.path = v;
    } else {
      r.headers.emplace_back(std::move(n), std::move(v));
    }
    return 0;
  }

  static int onFrameRecv(nghttp2_session* session, const nghttp2_frame* f, void* ud) {
    auto* c = static_cast<Conn*>(ud);
    if (f->hd.type == NGHTTP2_RST_STREAM) {
      std::lock_guard lock(c->impl.mu_);
      ++c->impl.resets_;
    }
    if (f->hd.type == NGHTTP2_GOAWAY) {
      std::lock_guard lock(c->impl.mu_);
      c->impl.goaways_.push_back(f->goaway.error_code);
    }
    if (f->hd.type == NGHTTP2_PING && !(f->hd.flags & NGHTTP2_FLAG_ACK)) {
      std::lock_guard lock(c->impl.mu_);
      ++c->impl.pings_;
    }
    if (f->hd.type != NGHTTP2_HEADERS && f->hd.type != NGHTTP2_DATA) return 0;
    auto it = c->streams.find(f->hd.stream_id);
    if (it == c->streams.end()) return 0;
    Stream& s = it->second;
    const int32_t id = f->hd.stream_id;
    if (f->hd.type == NGHTTP2_HEADERS && !s.head_done) {
      if (c->goaway_sent && id > c->goaway_last_id) {
        // Above the GOAWAY's last stream: not processed (the client retries it elsewhere).
        c->streams.erase(it);
        nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, id, NGHTTP2_REFUSED_STREAM);
        return 0;
      }
      s.head_done = true;
      ++c->heads;
      s.behavior = c->impl.choose(s.request);
      const auto goaway_after = c->impl.options_.goaway_after;
      if (goaway_after > 0 && c->heads == goaway_after && !c->goaway_sent) {
        c->goaway_sent = true;
        c->goaway_last_id = id;
        nghttp2_submit_goaway(session, NGHTTP2_FLAG_NONE, id, NGHTTP2_NO_ERROR, nullptr, 0);
      }
      if (s.behavior.mode == H2BackendMode::kRefuse) {
        nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, id, NGHTTP2_REFUSED_STREAM);
        return 0;
      }
      if (s.behavior.mode == H2BackendMode::kEcho) c->respond(id);
      if (s.behavior.mode == H2BackendMode::kClose) {
        c->close();
        return NGHTTP2_ERR_CALLBACK_FAILURE;  // nothing more from this session
      }
    }
    if (f->hd.flags & NGHTTP2_FLAG_END_STREAM) {
      s.request_ended = true;
      s.request.complete = true;
      c->impl.record(s.request);
      switch (s.behavior.mode) {
        case H2BackendMode::kEcho:
          s.out_end = true;
          if (s.deferred) {
            s.deferred = false;
            nghttp2_session_resume_data(session, id);
          }
          break;
        case H2BackendMode::kFixed:
          if (s.behavior.delay.count() > 0) {
            s.timer = std::make_unique<asio::steady_timer>(c->socket.get_executor());
            s.timer->expires_after(s.behavior.delay);
            s.timer->async_wait([self = c->shared_from_this(), id](error_code ec) {
              if (ec || self->closed || !self->streams.count(id)) return;
              self->respond(id);
              self->flush();
            });
          } else {
            c->respond(id);
          }
          break;
        case H2BackendMode::kDieMidResponse:
          c->respond(id);
          break;
        case H2BackendMode::kRefuse:
        case H2BackendMode::kClose:
          break;
      }
    }
    return 0;
  }

  static int onDataChunk(nghttp2_session* session, uint8_t, int32_t id, const uint8_t* data,
                         size_t len, void* ud) {
    auto* c = static_cast<Conn*>(ud);
    auto it = c->streams.find(id);
    if (it == c->streams.end()) return 0;
    Stream& s = it->second;
    s.request.body.append(reinterpret_cast<const char*>(data), len);
    if (s.behavior.mode == H2BackendMode::kEcho && s.responded) {
      s.out.append(reinterpret_cast<const char*>(data), len);
      if (s.deferred) {
        s.deferred = false;
        nghttp2_session_resume_data(session, id);
      }
    }
    return 0;
  }

  static int onStreamClose(nghttp2_session*, int32_t id, uint32_t, void* ud) {
    static_cast<Conn*>(ud)->streams.erase(id);
    return 0;
  }

  static ssize_t readBody(nghttp2_session* session, int32_t id, uint8_t* buf, size_t length,
                          uint32_t* flags, nghttp2_data_source*, void* ud) {
    auto* c = static_cast<Conn*>(ud);
    auto it = c->streams.find(id);
    if (it == c->streams.end()) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    Stream& s = it->second;
    const std::size_t avail = s.out.size() - s.out_off;
    if (avail == 0 && (!s.out_end || s.stall)) {
      if (s.stall) c->die_after_write = true;
      s.deferred = true;
      return NGHTTP2_ERR_DEFERRED;
    }
    const std::size_t n = std::min(length, avail);
    std::memcpy(buf, s.out.data() + s.out_off, n);
    s.out_off += n;
    if (s.out_off == s.out.size() && s.out_end && !s.stall) {
      *flags |= NGHTTP2_DATA_FLAG_EOF;
      if (!s.behavior.trailers.empty()) {
        std::vector<nghttp2_nv> t;
        for (const auto& [k, v] : s.behavior.trailers) t.push_back(nv(k, v));
        nghttp2_submit_trailer(session, id, t.data(), t.size());
        *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
      }
    }
    return static_cast<ssize_t>(n);
  }

  const std::string name_;
  const H2BackendOptions options_;
  asio::io_context ctx_;
  tcp::acceptor acceptor_{ctx_};
  uint16_t port_ = 0;
  std::thread thread_;
  std::once_flag stopped_;
  std::vector<std::weak_ptr<Conn>> conns_;  // backend thread only

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  H2BackendBehavior behavior_;
  H2BackendHandler handler_;
  uint64_t connections_ = 0;
  uint64_t streams_ = 0;
  uint32_t max_concurrent_ = 0;
  uint64_t resets_ = 0;
  std::vector<uint32_t> goaways_;
  uint64_t pings_ = 0;
  uint64_t open_ = 0;
  bool frozen_ = false;  // backend thread only (setFrozen posts)
  std::deque<H2BackendRequest> requests_;
};

void H2Backend::Impl::Conn::start() {
  error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  nghttp2_session_callbacks* cbs;
  nghttp2_session_callbacks_new(&cbs);
  nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, &Impl::onBeginHeaders);
  nghttp2_session_callbacks_set_on_header_callback(cbs, &Impl::onHeader);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, &Impl::onFrameRecv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, &Impl::onDataChunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, &Impl::onStreamClose);
  nghttp2_session_server_new(&session, cbs, this);
  nghttp2_session_callbacks_del(cbs);
  const nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, impl.options_.max_concurrent_streams}};
  nghttp2_submit_settings(session, NGHTTP2_FLAG_NONE, settings, 1);
  flush();
  read();
}

void H2Backend::Impl::Conn::read() {
  socket.async_read_some(asio::buffer(rbuf),
                         [self = shared_from_this()](error_code ec, std::size_t n) {
                           if (self->closed) return;
                           if (ec) return self->close();
                           if (!self->receive(self->rbuf.data(), n)) return;
                           self->read();
                         });
}

bool H2Backend::Impl::Conn::receive(const uint8_t* data, std::size_t n) {
  if (impl.frozen_) {
    held.append(reinterpret_cast<const char*>(data), n);
    return true;
  }
  if (nghttp2_session_mem_recv(session, data, n) < 0) {
    close();
    return false;
  }
  flush();
  return !closed;
}

void H2Backend::Impl::Conn::flush() {
  if (writing || closed || impl.frozen_) return;
  wbuf.clear();
  for (;;) {
    const uint8_t* data = nullptr;
    const ssize_t n = nghttp2_session_mem_send(session, &data);
    if (n < 0) return close();
    if (n == 0) break;
    wbuf.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
  }
  if (wbuf.empty()) {
    if (die_after_write ||
        (!nghttp2_session_want_read(session) && !nghttp2_session_want_write(session)))
      close();
    return;
  }
  writing = true;
  asio::async_write(socket, asio::buffer(wbuf),
                    [self = shared_from_this()](error_code ec, std::size_t) {
                      self->writing = false;
                      if (ec) return self->close();
                      self->flush();
                    });
}

void H2Backend::Impl::Conn::respond(int32_t id) {
  auto it = streams.find(id);
  if (it == streams.end() || it->second.responded) return;
  Stream& s = it->second;
  s.responded = true;
  const auto& b = s.behavior;
  std::string status = std::to_string(b.status);
  std::vector<nghttp2_nv> head;
  const std::string status_name = ":status";
  head.push_back(nv(status_name, status));
  for (const auto& [k, v] : b.headers) head.push_back(nv(k, v));
  switch (b.mode) {
    case H2BackendMode::kEcho:
      s.out = s.request.body;  // what arrived with the head
      break;
    case H2BackendMode::kDieMidResponse:
      s.out = b.body.substr(0, b.body.size() / 2);
      s.stall = true;
      break;
    default:
      s.out = b.body;
      s.out_end = true;
  }
  nghttp2_data_provider prd;
  prd.source.ptr = nullptr;
  prd.read_callback = &Impl::readBody;
  const bool no_body = b.mode == H2BackendMode::kFixed && s.out.empty() && b.trailers.empty();
  nghttp2_submit_response(session, id, head.data(), head.size(), no_body ? nullptr : &prd);
}

H2Backend::H2Backend(std::string name, H2BackendOptions options)
    : impl_(std::make_unique<Impl>(std::move(name), options)) {}
H2Backend::~H2Backend() { stop(); }

const std::string& H2Backend::name() const { return impl_->name_; }
uint16_t H2Backend::port() const { return impl_->port_; }
std::string H2Backend::address() const { return "127.0.0.1:" + std::to_string(port()); }

void H2Backend::setBehavior(H2BackendBehavior behavior) {
  std::lock_guard lock(impl_->mu_);
  impl_->behavior_ = std::move(behavior);
  impl_->handler_ = nullptr;
}

void H2Backend::setHandler(H2BackendHandler handler) {
  std::lock_guard lock(impl_->mu_);
  impl_->handler_ = std::move(handler);
}

uint64_t H2Backend::connectionCount() const {
  std::lock_guard lock(impl_->mu_);
  return impl_->connections_;
}

uint64_t H2Backend::streamCount() const {
  std::lock_guard lock(impl_->mu_);
  return impl_->streams_;
}

uint64_t H2Backend::resetsReceived() const {
  std::lock_guard lock(impl_->mu_);
  return impl_->resets_;
}

uint32_t H2Backend::maxConcurrentSeen() const {
  std::lock_guard lock(impl_->mu_);
  return impl_->max_concurrent_;
}

std::vector<uint32_t> H2Backend::goawaysReceived() const {
  std::lock_guard lock(impl_->mu_);
  return impl_->goaways_;
}

uint64_t H2Backend::pingsReceived() const {
  std::lock_guard lock(impl_->mu_);
  return impl_->pings_;
}

uint64_t H2Backend::openConnections() const {
  std::lock_guard lock(impl_->mu_);
  return impl_->open_;
}

void H2Backend::setFrozen(bool frozen) {
  // Applied on the backend's thread, where the connections live; waits until it is.
  std::promise<void> applied;
  asio::post(impl_->ctx_, [this, frozen, &applied] {
    impl_->frozen_ = frozen;
    if (!frozen) {
      for (auto& w : impl_->conns_) {
        auto c = w.lock();
        if (!c || c->closed) continue;
        const std::string held = std::move(c->held);
        c->held.clear();
        if (held.empty())
          c->flush();
        else
          c->receive(reinterpret_cast<const uint8_t*>(held.data()), held.size());
      }
    }
    applied.set_value();
  });
  applied.get_future().wait_for(std::chrono::seconds(5));
}

std::vector<H2BackendRequest> H2Backend::requests() const {
  std::lock_guard lock(impl_->mu_);
  return {impl_->requests_.begin(), impl_->requests_.end()};
}

bool H2Backend::waitForRequests(size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(impl_->mu_);
  return impl_->cv_.wait_for(lock, timeout, [&] { return impl_->requests_.size() >= n; });
}

void H2Backend::stop() { impl_->stop(); }

}  // namespace switchyard::support
