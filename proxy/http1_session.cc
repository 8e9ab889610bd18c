#include "proxy/http1_session.h"

#include <boost/asio/write.hpp>
#include <boost/beast/core/string.hpp>
#include <limits>
#include <utility>

#include "proxy/cluster_runtime.h"
#include "proxy/h2_server_session.h"
#include "proxy/request_log.h"
#include "proxy/worker.h"
#include "routing/route_table.h"

namespace switchyard::proxy {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

constexpr std::size_t kReadSize = 16 * 1024;
constexpr uint32_t kResponseHeaderLimit = 64 * 1024;
constexpr uint32_t kLingerMs = 2000;
// Request body bytes kept for a retry; a longer body is streamed and cannot be re-sent.
constexpr std::size_t kReplayLimit = 64 * 1024;
// Beast 1.74 compares a Content-Length with an empty optional limit as "exceeded", so "no
// limit" is spelled as the largest one.
constexpr uint64_t kNoBodyLimit = std::numeric_limits<uint64_t>::max();

std::string_view view(const boost::beast::flat_buffer& b) {
  auto d = b.data();
  return {static_cast<const char*>(d.data()), d.size()};
}

class FieldsView final : public routing::RequestHeaders {
 public:
  explicit FieldsView(const std::vector<HeaderField>& f) : fields_(f) {}
  std::optional<std::string_view> get(std::string_view name) const override {
    return findField(fields_, name);
  }

 private:
  const std::vector<HeaderField>& fields_;
};

bool isIdempotent(http::verb m) {
  switch (m) {
    case http::verb::get:
    case http::verb::head:
    case http::verb::options:
    case http::verb::trace:
    case http::verb::put:
    case http::verb::delete_:
      return true;
    default:
      return false;
  }
}

uint64_t sumSizes(const std::vector<std::string_view>& pieces) {
  uint64_t n = 0;
  for (auto p : pieces) n += p.size();
  return n;
}

void appendTrailers(std::string& out, const std::vector<HeaderField>& trailers) {
  out.append("0\r\n");
  for (const auto& t : trailers) {
    out.append(t.name);
    out.append(": ");
    out.append(t.value);
    out.append(kCrlf);
  }
  out.append(kCrlf);
}

}  // namespace

Http1Session::Http1Session(Worker& worker, uint32_t listener_index, ClientStream stream)
    : worker_(worker),
      listener_index_(listener_index),
      stats_(worker.listenerStats(listener_index)),
      client_(std::move(stream)) {
  registration_ = worker_.registerSession(this);
  ++stats_.connections_open;
  ++stats_.connections_accepted;
  error_code ec;
  auto ep = client_.socket().remote_endpoint(ec);
  if (!ec) client_ip_ = ep.address().to_string();
}

Http1Session::~Http1Session() {
  worker_.unregisterSession(registration_);
  --stats_.connections_open;
  dropUpstream();
}

const config::Listener& Http1Session::listener() const {
  return worker_.snapshot().config->listeners[listener_index_];
}

void Http1Session::start() {
  state_ = State::kIdle;
  setDeadline(listener().limits.idle_timeout_ms);
  readClient();
}

void Http1Session::setDeadline(uint32_t ms) {
  deadline_ = ms == 0 ? TimePoint::max() : Clock::now() + std::chrono::milliseconds(ms);
}

// ---------------------------------------------------------------------------------------------
// Client side.

void Http1Session::readClient() {
  if (client_reading_) return;  // one read at a time (a retry may find one outstanding)
  client_reading_ = true;
  client_.async_read_some(
      in_.prepare(kReadSize),
      [self = shared_from_this()](error_code ec, std::size_t n) { self->onClientRead(ec, n); });
}

void Http1Session::onClientRead(error_code ec, std::size_t n) {
  client_reading_ = false;
  if (state_ == State::kClosed) return;
  if (state_ == State::kClosing) {
    // Lingering close: discard what the client still sends until it closes or time runs out.
    in_.consume(in_.size());
    if (ec) return abort();
    in_.commit(n);
    in_.consume(in_.size());
    return readClient();
  }
  if (ec) {
    // The client went away. Between requests that is normal; in the middle of one, the
    // exchange is abandoned (its upstream connection cannot be reused).
    return abort();
  }
  in_.commit(n);
  switch (state_) {
    case State::kIdle:
      if (first_bytes_) {
        // h2c with prior knowledge: a connection that opens with the HTTP/2 client preface
        // belongs to an H2ServerSession (a prefix of it waits for the rest).
        const std::string_view got = view(in_), preface = H2ServerSession::kClientPreface;
        if (got.substr(0, preface.size()) == preface.substr(0, got.size())) {
          if (got.size() < preface.size()) return readClient();
          return handOverToHttp2();
        }
        first_bytes_ = false;
      }
      beginRequest();
      return parseHead();
    case State::kReadingHead:
      return parseHead();
    case State::kConnecting:
      return;  // the bytes wait in in_ until the next try is connected
    case State::kExchanging:
      // More request body: the request pump asked for it (or a retry's replay is being
      // written, after which the pump picks these bytes up).
      if (req_writing_) return;
      return pumpRequest();
    default:
      return;
  }
}

void Http1Session::handOverToHttp2() {
  state_ = State::kClosed;
  deadline_ = TimePoint::max();
  auto h2 =
      std::make_shared<H2ServerSession>(worker_, listener_index_, std::move(client_), view(in_));
  in_.consume(in_.size());
  h2->start();
}

void Http1Session::beginRequest() {
  state_ = State::kReadingHead;
  started_ = Clock::now();
  setDeadline(listener().limits.header_timeout_ms);
}

void Http1Session::parseHead() {
  const auto& limits = listener().limits;
  if (!req_parser_) {
    req_.reset();
    req_parser_.emplace(req_);
    req_parser_->header_limit(limits.max_header_bytes);
    req_parser_->body_limit(limits.max_body_bytes ? limits.max_body_bytes : kNoBodyLimit);
  }
  error_code ec;
  const std::size_t used = req_parser_->feed(view(in_), ec);
  if (ec == http::error::need_more) return readClient();
  if (ec == http::error::header_limit)
    return sendError(
        431, "request-header-too-large",
        "the request header exceeds " + std::to_string(limits.max_header_bytes) + " bytes", true);
  if (ec == http::error::body_limit)
    return sendError(413, "request-body-too-large",
                     "the request body exceeds " + std::to_string(limits.max_body_bytes) + " bytes",
                     true);
  if (ec) return sendError(400, "bad-request", ec.message(), true);
  if (req_.reject_reason) return sendError(400, "bad-request", req_.reject_reason, true);
  if (!req_.header_done) return readClient();
  handleRequest(used);
}

void Http1Session::handleRequest(std::size_t head_bytes) {
  const auto& limits = listener().limits;
  method_.assign(req_.method_text);
  target_.assign(req_.target);
  client_version_ = req_.version;
  head_request_ = req_.method == http::verb::head;
  keep_alive_ = req_parser_->keep_alive() && !draining_ && !worker_.draining();
  idempotent_ = isIdempotent(req_.method);
  upgrade_ = req_parser_->upgrade() && findField(req_.fields, http::field::upgrade).has_value();
  has_body_ = req_.chunked || req_.content_length.value_or(0) > 0;
  if (limits.max_body_bytes && req_.content_length.value_or(0) > limits.max_body_bytes)
    return sendError(413, "request-body-too-large",
                     "the request body exceeds " + std::to_string(limits.max_body_bytes) + " bytes",
                     true);

  const auto& snapshot = worker_.snapshot();
  const std::string_view host = findField(req_.fields, http::field::host).value_or("");
  const int cluster_index = snapshot.routes[listener_index_]->match(
      host, req_.target, FieldsView(req_.fields), worker_.random());
  cluster_ = worker_.cluster(cluster_index);
  if (!cluster_) return sendError(404, "no-route", "no route matches this request", has_body_);
  hash_key_ = cluster_->hashKey(FieldsView(req_.fields), client_ip_);
  if (cluster_->config().protocol != config::UpstreamProtocol::kHttp1)
    return delegateToH2(head_bytes);

  up_head_.clear();
  UpstreamRequestInfo info;
  info.client_ip = client_ip_;
  info.proto = listener().protocol == config::ListenerProtocol::kHttps ? "https" : "http";
  info.upgrade = upgrade_;
  writeUpstreamRequestHead(up_head_, req_, info);
  // The head's views point into in_: from here on only the copies above are used.
  in_.consume(head_bytes);
  req_parser_->eager(true);
  request_done_ = false;
  attempts_ = 0;
  excluded_ = nullptr;
  replay_.clear();
  replay_ok_ = true;
  req_writing_ = false;
  req_consume_ = 0;
  const auto now = worker_.time().now();
  request_deadline_ = now + std::chrono::milliseconds(cluster_->config().request_timeout_ms);
  cluster_->retryBudget().onRequest(now);
  pickAndConnect();
}

void Http1Session::sendError(unsigned status, std::string_view cause, std::string_view detail,
                             bool close) {
  if (state_ == State::kClosed || state_ == State::kClosing) return;
  if (response_started_) return abort();  // too late for an answer of our own
  dropUpstream();
  error_cause_.assign(cause);
  final_status_ = status;
  ++stats_.errors[error_cause_];
  // The connection can carry another request only when this one was read to its end.
  const bool request_read = req_parser_ && req_parser_->is_done();
  keep_alive_ = keep_alive_ && !close && request_read && !draining_ && !worker_.draining();
  error_out_.clear();
  writeErrorResponse(error_out_, status, cause, detail, keep_alive_, head_request_);
  state_ = State::kWritingError;
  setDeadline(listener().limits.idle_timeout_ms);
  client_.asyncWrite(asio::buffer(error_out_),
                     [self = shared_from_this()](error_code ec, std::size_t n) {
                       if (self->state_ == State::kClosed) return;
                       self->bytes_sent_ += n;
                       self->completeRequest();
                       if (ec || !self->keep_alive_) return self->closeClient();
                       self->nextRequest();
                     });
}

void Http1Session::completeRequest() {
  AccessRecord r;
  r.listener = listener().name;
  r.client_ip = client_ip_;
  r.method = method_;
  r.target = target_;
  r.cluster = cluster_ ? std::string_view(cluster_->name()) : std::string_view();
  r.upstream = host_ ? std::string_view(host_->endpoint().id) : std::string_view();
  r.error = error_cause_;
  r.status = final_status_;
  r.bytes_sent = bytes_sent_;
  r.version = client_version_;
  countRequest(worker_, stats_, r, started_);
}

void Http1Session::nextRequest() {
  // Reset the per-request state; the buffers keep their capacity.
  req_parser_.reset();
  resp_parser_.reset();
  host_.reset();
  cluster_ = nullptr;
  excluded_ = nullptr;
  response_started_ = response_done_ = request_done_ = false;
  error_cause_.clear();
  final_status_ = 0;
  bytes_sent_ = 0;
  if (draining_ || worker_.draining()) return closeClient();
  state_ = State::kIdle;
  setDeadline(listener().limits.idle_timeout_ms);
  if (in_.size() > 0) {  // a pipelined request is already here
    beginRequest();
    return parseHead();
  }
  readClient();
}

void Http1Session::closeClient() {
  if (state_ == State::kClosed || state_ == State::kClosing) return;
  dropUpstream();
  // Lingering close: stop sending, then read and discard until the client closes, so that
  // unread request bytes do not turn our last answer into a reset on the client's side.
  // (TLS: close_notify, then the same wait; both are bounded by the linger deadline.)
  state_ = State::kClosing;
  setDeadline(kLingerMs);
  client_.shutdownSend([self = shared_from_this()](error_code ec) {
    if (ec && ec != asio::error::operation_aborted) self->abort();
  });
  if (!client_reading_) readClient();
}

void Http1Session::abort() {
  if (state_ == State::kClosed) return;
  auto self = shared_from_this();  // the exchange below may hold the last other reference
  state_ = State::kClosed;
  if (h2_) std::exchange(h2_, nullptr)->abort();
  deadline_ = TimePoint::max();
  dropUpstream();
  client_.close();
}

void Http1Session::drain() {
  draining_ = true;
  if (state_ == State::kIdle) closeClient();
}

void Http1Session::checkDeadline(TimePoint now) {
  if (h2_) return std::shared_ptr<H2ClientExchange>(h2_)->checkDeadline(now);
  // A departed instance's requests in flight may finish within drain_timeout_ms, no longer.
  if (host_ && (state_ == State::kConnecting || state_ == State::kExchanging) &&
      host_->departed() && now >= host_->drain_deadline) {
    if (response_started_ || bytes_sent_ > 0) return abort();
    return sendError(504, "drain-timeout",
                     "instance " + host_->endpoint().id + " of cluster \"" + cluster_->name() +
                         "\" left its set and did not answer within drain_timeout_ms",
                     false);
  }
  if (now < deadline_) return;
  deadline_ = TimePoint::max();
  switch (state_) {
    case State::kIdle:
      return closeClient();
    case State::kReadingHead:
      return sendError(408, "request-timeout", "the request header did not arrive in time", true);
    case State::kConnecting:
      if (host_) {
        ++host_->stats.connect_failures;
        cluster_->recordFailure(*host_);
      }
      return onUpstreamFailure(asio::error::timed_out, true);
    case State::kExchanging:
      if (!response_started_ && bytes_sent_ == 0 && host_) {
        // A try that hangs: another instance may answer within the request's time.
        cluster_->recordFailure(*host_);
        const UpstreamHost* failed = host_.get();
        const bool drained = host_->departed() && now >= host_->drain_deadline;
        if (!drained && now < request_deadline_) {
          excluded_ = failed;
          if (retry(Failure::kTimeout, false)) return;
        }
      }
      if (!response_started_)
        return sendError(504, "upstream-timeout",
                         "instance " + host_->endpoint().id + " of cluster \"" + cluster_->name() +
                             "\" did not answer in time",
                         false);
      return abort();
    case State::kWritingError:
    case State::kClosing:
    case State::kTunnel:
    case State::kClosed:
      return abort();
  }
}

// ---------------------------------------------------------------------------------------------
// Upstream side.

void Http1Session::pickAndConnect() {
  state_ = State::kConnecting;
  releaseLoad();  // a previous attempt's, should one still count
  host_ = cluster_->pick(hash_key_, excluded_);
  if (!host_)
    return sendError(503, "no-healthy-instance",
                     "no instance of cluster \"" + cluster_->name() + "\" is available", has_body_);
  ++host_->load.in_flight;
  load_counted_ = true;
  latency_sampled_ = false;
  picked_at_ = worker_.time().now();
  if (auto idle = host_->takeIdle()) {
    up_ = std::move(idle);
    ++up_gen_;
    return onConnected(error_code(), up_gen_);
  }
  if (host_->atConnectionLimit())
    return sendError(503, "connection-limit",
                     "instance " + host_->endpoint().id + " of cluster \"" + cluster_->name() +
                         "\" is at max_connections_per_instance",
                     has_body_);
  tls_failure_.clear();
  up_ = openUpstreamConnection();
  if (!up_) return;
  ++up_gen_;
  host_->connectionOpened();
  setDeadline(cluster_->config().connect_timeout_ms);
  up_->stream.asyncConnect(
      host_->endpoint().address,
      [self = shared_from_this(), gen = up_gen_](error_code ec) { self->onConnected(ec, gen); });
}

std::unique_ptr<UpstreamConnection> Http1Session::openUpstreamConnection() {
  auto conn = UpstreamConnection::open(worker_.context(), worker_.tls(), cluster_->config(),
                                       host_->endpoint());
  if (!conn)
    sendError(502, "upstream-tls",
              "cluster \"" + cluster_->name() +
                  "\": its TLS settings did not load (the gateway's log says why)",
              has_body_);
  return conn;
}

void Http1Session::onConnected(error_code ec, uint64_t gen) {
  if (gen != up_gen_ || state_ != State::kConnecting) return;
  if (ec) {
    ++host_->stats.connect_failures;
    cluster_->recordFailure(*host_);
    // A TLS failure (verification, protocol) is a connect failure that says why.
    tls_failure_ = up_->stream.handshakeStarted() ? up_->stream.describeError(ec) : "";
    return onUpstreamFailure(ec, true);
  }
  if (!up_->reused) {
    error_code ignored;
    up_->stream.socket().set_option(tcp::no_delay(true), ignored);
  }
  ++host_->stats.in_flight;
  counted_in_flight_ = true;
  state_ = State::kExchanging;
  // The per-try timeout starts once the request is sent (onRequestSent): a slow upload is not
  // the instance's fault.
  deadline_ = request_deadline_;
  resp_.reset();
  resp_parser_.emplace(resp_);
  resp_parser_->header_limit(kResponseHeaderLimit);
  resp_parser_->body_limit(kNoBodyLimit);
  resp_parser_->eager(true);
  if (head_request_) resp_parser_->skip(true);
  interim_ = false;
  head_relayed_ = false;
  req_head_sent_ = false;
  upstream_eof_ = false;
  if (!replay_.empty()) {
    resendRequest();
  } else {
    pumpRequest();
  }
  readUpstream();
}

void Http1Session::resendRequest() {
  req_writing_ = true;
  up_->stream.asyncWrite(asio::buffer(replay_),
                         [self = shared_from_this(), gen = up_gen_](error_code ec, std::size_t) {
                           // Continues as after any request write: the rest of the body follows.
                           self->onRequestWritten(ec, gen);
                         });
}

void Http1Session::onUpstreamFailure(error_code ec, bool connect_phase) {
  const bool was_reused = up_ && up_->reused;
  const UpstreamHost* failed = host_.get();
  // A reused connection the instance had closed is the keep-alive race, not the instance's fault.
  if (!connect_phase && host_ && !was_reused) cluster_->recordFailure(*host_);
  dropUpstream();
  if (response_started_) return abort();
  excluded_ = failed;
  if (retry(connect_phase ? Failure::kConnect : Failure::kReset, was_reused)) return;
  const std::string where =
      failed ? "instance " + failed->endpoint().id + " of cluster \"" + cluster_->name() + "\""
             : "cluster \"" + cluster_->name() + "\"";
  if (connect_phase && !tls_failure_.empty())
    return sendError(502, "upstream-tls", where + ": TLS handshake failed: " + tls_failure_, false);
  if (connect_phase)
    return sendError(502, "connect-failure", where + ": connect failed: " + ec.message(), false);
  sendError(502, "upstream-reset", where + " closed the connection: " + ec.message(), false);
}

bool Http1Session::retry(Failure why, bool was_reused) {
  if (state_ == State::kClosed || state_ == State::kClosing) return false;
  TryState s;
  s.response_started = response_started_ || bytes_sent_ > 0;
  s.replay_ok = replay_ok_;
  s.idempotent = idempotent_;
  s.request_done = request_done_;
  s.was_reused = was_reused;
  s.attempts = attempts_;
  s.request_deadline = request_deadline_;
  if (!mayRetry(*cluster_, why, s, worker_.time().now())) return false;
  dropUpstream();
  // A write that was in flight is in replay_ already.
  in_.consume(req_consume_);
  req_consume_ = 0;
  req_writing_ = false;
  request_done_ = false;  // the next try sends it again
  ++attempts_;
  ++cluster_->retries;
  pickAndConnect();
  return true;
}

bool Http1Session::onFinalHead(unsigned status) {
  cluster_->recordAnswer(*host_, status);
  if (cluster_->retryOnStatus(status)) {
    excluded_ = host_.get();
    auto host = host_;  // counted as this instance's answer, though the client will not see it
    if (retry(Failure::kStatus, false)) {
      host->stats.responses.add(status);
      return true;
    }
  }
  // The answer goes to the client: no retry from here on.
  replay_ok_ = false;
  replay_.clear();
  if (replay_.capacity() > kReplayLimit / 4) replay_.shrink_to_fit();
  return false;
}

void Http1Session::releaseLoad() {
  if (load_counted_ && host_) --host_->load.in_flight;
  load_counted_ = false;
}

void Http1Session::dropUpstream() {
  releaseLoad();
  if (counted_in_flight_ && host_) --host_->stats.in_flight;
  counted_in_flight_ = false;
  if (up_) {
    ++up_gen_;  // handlers of the dropped connection see a stale generation
    if (host_)
      host_->discard(std::move(up_));
    else
      up_.reset();
  }
}

void Http1Session::pumpRequest() {
  req_bufs_.clear();
  req_framing_.clear();
  req_tail_.clear();
  if (!req_head_sent_) req_bufs_.push_back(asio::buffer(up_head_));
  std::size_t used = 0;
  if (!req_parser_->is_done() && in_.size() > 0) {
    error_code ec;
    used = req_parser_->feed(view(in_), ec);
    if (ec && ec != http::error::need_more) {
      if (ec == http::error::body_limit)
        return sendError(413, "request-body-too-large", "the request body is too large", true);
      return sendError(400, "bad-request", "bad request body: " + ec.message(), true);
    }
    const uint64_t total = sumSizes(req_.body);
    if (total > 0) {
      if (req_.chunked) {
        appendChunkHeader(req_framing_, total);
        req_bufs_.push_back(asio::buffer(req_framing_));
      }
      for (auto piece : req_.body) req_bufs_.push_back(asio::buffer(piece.data(), piece.size()));
      if (req_.chunked) req_tail_.append(kCrlf);
    }
    if (req_parser_->is_done() && req_.chunked) appendTrailers(req_tail_, req_.trailers);
    if (!req_tail_.empty()) req_bufs_.push_back(asio::buffer(req_tail_));
  }
  if (replay_ok_ && !req_bufs_.empty()) {
    // Keep what is written, for a retry, while it is small enough.
    const std::size_t n = asio::buffer_size(req_bufs_);
    if (replay_.size() + n > up_head_.size() + kReplayLimit) {
      replay_ok_ = false;
      replay_.clear();
    } else {
      for (const auto& b : req_bufs_) replay_.append(static_cast<const char*>(b.data()), b.size());
    }
  }
  if (req_bufs_.empty()) {
    in_.consume(used);
    if (req_parser_->is_done()) return onRequestSent();
    return readClient();
  }
  req_consume_ = used;
  req_writing_ = true;
  up_->stream.asyncWrite(req_bufs_,
                         [self = shared_from_this(), gen = up_gen_](error_code ec, std::size_t) {
                           self->onRequestWritten(ec, gen);
                         });
}

void Http1Session::onRequestWritten(error_code ec, uint64_t gen) {
  if (gen != up_gen_ || state_ != State::kExchanging) return;
  req_writing_ = false;
  if (ec) return onUpstreamFailure(ec, false);
  in_.consume(req_consume_);
  req_consume_ = 0;
  req_head_sent_ = true;
  if (req_parser_->is_done()) return onRequestSent();
  if (in_.size() > 0) return pumpRequest();
  readClient();
}

void Http1Session::onRequestSent() {
  request_done_ = true;
  const uint32_t per_try = cluster_->config().retries.per_try_timeout_ms;
  if (per_try > 0 && !response_started_ && bytes_sent_ == 0)
    deadline_ = std::min(request_deadline_, Clock::now() + std::chrono::milliseconds(per_try));
  if (response_done_) finishExchange();
}

void Http1Session::readUpstream() {
  up_->stream.async_read_some(
      up_->in.prepare(kReadSize),
      [self = shared_from_this(), gen = up_gen_](error_code ec, std::size_t n) {
        self->onUpstreamRead(ec, n, gen);
      });
}

void Http1Session::onUpstreamRead(error_code ec, std::size_t n, uint64_t gen) {
  if (gen != up_gen_ || state_ != State::kExchanging) return;
  if (!ec) {
    up_->in.commit(n);
    return relayResponse();
  }
  if (ec == asio::error::eof && resp_.header_done && !resp_parser_->is_done()) {
    // A body delimited by the end of the connection ends here.
    upstream_eof_ = true;
    resp_.body.clear();  // the pieces of the last feed were relayed already
    error_code eof_ec;
    resp_parser_->put_eof(eof_ec);
    if (!eof_ec) return relayResponse();
  }
  if (response_started_) return abort();  // truncated: the client must see it
  onUpstreamFailure(ec, false);
}

void Http1Session::relayResponse() {
  error_code ec;
  std::size_t used = 0;
  resp_bufs_.clear();
  resp_out_.clear();
  resp_framing_.clear();
  resp_tail_.clear();
  if (!resp_parser_->is_done()) {
    used = resp_parser_->feed(view(up_->in), ec);
    if (ec && ec != http::error::need_more) {
      if (response_started_) return abort();
      const std::string where = "instance " + host_->endpoint().id;
      return sendError(502, "bad-upstream-response",
                       where + " sent a malformed response: " + ec.message(), false);
    }
  }
  bool tunnel = false;
  if (resp_.header_done && !head_relayed_) {
    head_relayed_ = true;
    if (resp_.status == 101) {
      if (!upgrade_) return sendError(502, "bad-upstream-response", "unexpected 101", true);
      writeDownstreamResponseHead(resp_out_, resp_, resp_.reason, ResponseFraming::kNone, true,
                                  client_version_);
      response_started_ = true;
      final_status_ = 101;
      tunnel = true;
    } else if (resp_.status < 200) {
      interim_ = true;  // 100 Continue and friends: relayed, then the real answer follows
      if (client_version_ >= 11)
        writeDownstreamResponseHead(resp_out_, resp_, resp_.reason, ResponseFraming::kNone, true,
                                    client_version_);
    } else {
      if (onFinalHead(resp_.status)) return;
      final_status_ = resp_.status;
      if (!latency_sampled_) {
        // The instance's latency, for p2c_ewma: from pick (connect included) to its answer.
        latency_sampled_ = true;
        const auto now = worker_.time().now();
        routing::observeLatency(
            host_->load, std::chrono::duration<double, std::micro>(now - picked_at_).count(), now);
      }
      framing_ = chooseResponseFraming(resp_, head_request_, client_version_);
      if (framing_ == ResponseFraming::kClose || draining_ || worker_.draining())
        keep_alive_ = false;
      writeDownstreamResponseHead(resp_out_, resp_, resp_.reason, framing_, keep_alive_,
                                  client_version_);
      response_started_ = true;
      setDeadline(cluster_->config().idle_timeout_ms);
    }
  }
  if (!resp_out_.empty()) resp_bufs_.push_back(asio::buffer(resp_out_));
  if (!interim_ && !tunnel) {
    const uint64_t total = sumSizes(resp_.body);
    const bool chunked = framing_ == ResponseFraming::kChunked;
    if (total > 0) {
      if (chunked) {
        appendChunkHeader(resp_framing_, total);
        resp_bufs_.push_back(asio::buffer(resp_framing_));
      }
      for (auto piece : resp_.body) resp_bufs_.push_back(asio::buffer(piece.data(), piece.size()));
      if (chunked) resp_tail_.append(kCrlf);
    }
    if (resp_parser_->is_done() && chunked) appendTrailers(resp_tail_, resp_.trailers);
    if (!resp_tail_.empty()) resp_bufs_.push_back(asio::buffer(resp_tail_));
  }
  resp_consume_ = used;
  if (resp_bufs_.empty()) {
    if (interim_) return afterResponseWrite();  // a 1xx not relayed to an HTTP/1.0 client
    // Nothing to send yet (say, half a chunk header): wait for more rather than parse again.
    up_->in.consume(used);
    resp_consume_ = 0;
    if (resp_parser_->is_done()) return onResponseDone();
    return readUpstream();
  }
  client_.asyncWrite(
      resp_bufs_, [self = shared_from_this(), gen = up_gen_, tunnel](error_code ec, std::size_t n) {
        if (gen != self->up_gen_ || self->state_ != State::kExchanging) return;
        if (ec) return self->abort();
        self->bytes_sent_ += n;
        if (tunnel) return self->startTunnel();
        self->afterResponseWrite();
      });
}

void Http1Session::afterResponseWrite() {
  up_->in.consume(resp_consume_);
  resp_consume_ = 0;
  if (interim_) {
    // The final response comes next, with a fresh parser.
    interim_ = false;
    head_relayed_ = false;
    resp_.reset();
    resp_parser_.emplace(resp_);
    resp_parser_->header_limit(kResponseHeaderLimit);
    resp_parser_->body_limit(kNoBodyLimit);
    resp_parser_->eager(true);
    if (head_request_) resp_parser_->skip(true);
    if (up_->in.size() > 0) return relayResponse();
    return readUpstream();
  }
  if (resp_parser_->is_done()) return onResponseDone();
  if (up_->in.size() > 0) return relayResponse();
  readUpstream();
}

void Http1Session::onResponseDone() {
  response_done_ = true;
  releaseLoad();
  --host_->stats.in_flight;
  counted_in_flight_ = false;
  host_->stats.responses.add(final_status_);
  host_->stats.latency.observeMicros(static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started_).count()));
  if (request_done_) return finishExchange();
  if (req_parser_->is_done()) return;  // the last request bytes are being written: wait
  // The upstream answered before reading the whole request body: this connection pair is done.
  completeRequest();
  keep_alive_ = false;
  closeClient();
}

void Http1Session::finishExchange() {
  const bool reusable = resp_parser_->keep_alive() && !upstream_eof_ && up_->in.size() == 0;
  counted_in_flight_ = false;
  host_->release(std::move(up_), reusable, Clock::now());
  ++up_gen_;
  completeRequest();
  if (!keep_alive_) return closeClient();
  nextRequest();
}

// ---------------------------------------------------------------------------------------------
// HTTP/2 upstream.

void Http1Session::delegateToH2(std::size_t head_bytes) {
  if (upgrade_)
    return sendError(501, "upgrade-unsupported",
                     "cluster \"" + cluster_->name() + "\" speaks HTTP/2: Upgrade is not relayed",
                     true);
  const bool https = listener().protocol == config::ListenerProtocol::kHttps;
  const auto expect = findField(req_.fields, http::field::expect);
  H2ClientExchange::Request r;
  r.expect_continue = expect && boost::beast::iequals(*expect, "100-continue");
  r.head = H2ClientExchange::requestHead(req_, https ? "https" : "http", client_ip_,
                                         listener().address.str(), r.expect_continue);
  r.head_request = head_request_;
  r.client_version = client_version_;
  r.keep_alive = keep_alive_;
  // The head's views point into in_: the head above is a copy.
  in_.consume(head_bytes);
  req_parser_->eager(true);
  state_ = State::kExchanging;
  h2_ = std::make_shared<H2ClientExchange>(
      worker_, listener_index_,
      H2ClientExchange::Client{client_, in_, *req_parser_, req_, shared_from_this()}, std::move(r),
      [this](H2ClientExchange::Outcome o) { onH2Done(o); });
  h2_->start();
}

void Http1Session::onH2Done(H2ClientExchange::Outcome o) {
  auto exchange = std::move(h2_);  // its caller holds it until this returns
  // The exchange's UpstreamRequest has counted and logged the request.
  if (o.abort) return abort();
  keep_alive_ = keep_alive_ && o.keep_alive;
  if (!keep_alive_) return closeClient();
  nextRequest();
}

// ---------------------------------------------------------------------------------------------
// Tunnel (after 101 Switching Protocols).

void Http1Session::startTunnel() {
  state_ = State::kTunnel;
  up_->in.consume(resp_consume_);
  host_->stats.responses.add(101);
  releaseLoad();
  --host_->stats.in_flight;
  counted_in_flight_ = false;
  completeRequest();
  setDeadline(cluster_->config().idle_timeout_ms);
  tunnel_open_ = 2;
  // Bytes already read on either side go first.
  tunnelFlush(true);
  tunnelFlush(false);
}

void Http1Session::tunnelFlush(bool client_to_upstream) {
  auto& src_buf = client_to_upstream ? in_ : up_->in;
  auto& dst = client_to_upstream ? up_->stream : client_;
  if (src_buf.size() == 0) return tunnelRead(client_to_upstream);
  dst.asyncWrite(src_buf.data(),
                 [self = shared_from_this(), client_to_upstream](error_code ec, std::size_t n) {
                   if (self->state_ != State::kTunnel) return;
                   if (ec) return self->abort();
                   auto& buf = client_to_upstream ? self->in_ : self->up_->in;
                   buf.consume(n);
                   self->setDeadline(self->cluster_->config().idle_timeout_ms);
                   self->tunnelRead(client_to_upstream);
                 });
}

void Http1Session::tunnelRead(bool client_to_upstream) {
  auto& src = client_to_upstream ? client_ : up_->stream;
  auto& buf = client_to_upstream ? in_ : up_->in;
  src.async_read_some(buf.prepare(kReadSize), [self = shared_from_this(), client_to_upstream](
                                                  error_code ec, std::size_t n) {
    if (self->state_ != State::kTunnel) return;
    auto& dst = client_to_upstream ? self->up_->stream : self->client_;
    if (ec) {
      // One direction ended: pass the half-close on; when both have, the tunnel is done.
      // TLS has no dependable half-close (close_notify ends the whole connection for most
      // peers): everything read was written already, so the tunnel ends here.
      if (dst.isTls()) return self->abort();
      error_code ignored;
      dst.socket().shutdown(tcp::socket::shutdown_send, ignored);
      if (--self->tunnel_open_ == 0) self->abort();
      return;
    }
    (client_to_upstream ? self->in_ : self->up_->in).commit(n);
    self->tunnelFlush(client_to_upstream);
  });
}

}  // namespace switchyard::proxy
