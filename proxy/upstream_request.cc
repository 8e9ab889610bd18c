#include "proxy/upstream_request.h"

#include <boost/asio/write.hpp>
#include <boost/beast/core/string.hpp>
#include <limits>

#include "proxy/cluster_runtime.h"
#include "proxy/h2_client_request.h"
#include "proxy/http1_head_writer.h"
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
// Request body bytes kept for a retry, as Http1Session keeps them.
constexpr std::size_t kReplayLimit = 64 * 1024;
constexpr uint64_t kNoBodyLimit = std::numeric_limits<uint64_t>::max();

std::string_view view(const boost::beast::flat_buffer& b) {
  auto d = b.data();
  return {static_cast<const char*>(d.data()), d.size()};
}

// The router's and the hash key's view of the decoded fields; Host falls back to :authority.
class HeadView final : public routing::RequestHeaders {
 public:
  explicit HeadView(const RequestHead& h) : head_(h) {}
  std::optional<std::string_view> get(std::string_view name) const override {
    for (const auto& [n, v] : head_.fields)
      if (n == name) return std::string_view(v);
    if (name == "host" && !head_.authority.empty()) return std::string_view(head_.authority);
    return std::nullopt;
  }

 private:
  const RequestHead& head_;
};

void appendLastChunk(std::string& out,
                     const std::vector<std::pair<std::string, std::string>>& trailers) {
  out.append("0\r\n");
  for (const auto& [name, value] : trailers) {
    out.append(name);
    out.append(": ");
    out.append(value);
    out.append(kCrlf);
  }
  out.append(kCrlf);
}

// The end-to-end fields of a response head or trailers, for a downstream that frames them itself.
void endToEnd(const std::vector<HeaderField>& in, std::vector<HeaderField>& out) {
  out.clear();
  bool has_connection = false;
  for (const auto& f : in)
    if (f.id == http::field::connection || f.id == http::field::proxy_connection)
      has_connection = true;
  for (const auto& f : in) {
    if (isHopByHop(f)) continue;
    if (has_connection && listedInConnection(in, f.name)) continue;
    out.push_back(f);
  }
}

}  // namespace

bool writeHttp1RequestHead(std::string& out, const RequestHead& head) {
  // Through the same writer Http1Session uses: hop-by-hop fields (te, connection...) dropped,
  // X-Forwarded-*, chunked when the length is unknown.
  ParseEvents req;
  req.method_text = head.method;
  req.target = head.path;
  req.chunked = head.has_body && !head.content_length;
  std::string cookie;  // HTTP/2 may split Cookie; HTTP/1.1 wants one field (RFC 9113 8.2.3)
  for (const auto& [n, v] : head.fields) {
    if (n == "cookie") {
      if (!cookie.empty()) cookie.append("; ");
      cookie.append(v);
      continue;
    }
    req.fields.push_back(HeaderField{http::string_to_field(n), n, v});
  }
  if (!cookie.empty()) req.fields.push_back(HeaderField{http::field::cookie, "cookie", cookie});
  if (!head.upgrade.empty())
    req.fields.push_back(HeaderField{http::field::upgrade, "upgrade", head.upgrade});
  UpstreamRequestInfo info;
  info.upgrade = !head.upgrade.empty();
  info.client_ip = head.client_ip;
  info.proto = head.scheme == "https" ? "https" : "http";
  info.default_host = head.authority;
  writeUpstreamRequestHead(out, req, info);
  return req.chunked;
}

void ResponseSink::onUpgrade(const std::vector<HeaderField>&, UpstreamTunnel tunnel) {
  if (tunnel.host) tunnel.host->discard(std::move(tunnel.conn));
}

UpstreamRequest::UpstreamRequest(Worker& worker, uint32_t listener_index, ResponseSink& sink)
    : worker_(worker),
      listener_index_(listener_index),
      stats_(worker.listenerStats(listener_index)),
      sink_(&sink) {}

UpstreamRequest::~UpstreamRequest() { dropUpstream(); }

bool UpstreamRequest::done() const { return h2_ ? h2_->done() : state_ == State::kDone; }

void UpstreamRequest::start(RequestHead head) {
  head_ = std::move(head);
  started_ = Clock::now();
  idempotent_ = isIdempotentMethod(head_.method);
  head_request_ = head_.method == "HEAD";
  body_ended_ = !head_.has_body;

  const HeadView fields(head_);
  const auto& snapshot = worker_.snapshot();
  const std::string_view host = fields.get("host").value_or("");
  const int cluster_index =
      snapshot.routes[listener_index_]->match(host, head_.path, fields, worker_.random());
  cluster_ = worker_.cluster(cluster_index);
  if (!cluster_) return fail(404, "no-route", "no route matches this request");
  hash_key_ = cluster_->hashKey(fields, head_.client_ip);
  if (cluster_->config().protocol != config::UpstreamProtocol::kHttp1) {
    if (!head_.upgrade.empty())
      return fail(501, "upgrade-unsupported",
                  "cluster \"" + cluster_->name() + "\" speaks HTTP/2: Upgrade is not relayed");
    answerExpectForHttp2();
    if (state_ == State::kDone) return;  // the sink cancelled
    h2_ = std::make_shared<H2ClientRequest>(worker_, listener_index_, *sink_, *cluster_, hash_key_,
                                            head_, started_);
    state_ = State::kConnecting;
    return h2_->start();
  }

  up_head_.clear();
  chunked_ = writeHttp1RequestHead(up_head_, head_);

  const auto now = worker_.time().now();
  request_deadline_ = now + std::chrono::milliseconds(cluster_->config().request_timeout_ms);
  cluster_->retryBudget().onRequest(now);
  pickAndConnect();
}

void UpstreamRequest::answerExpectForHttp2() {
  auto& fields = head_.fields;
  for (auto it = fields.begin(); it != fields.end(); ++it) {
    if (it->first != "expect") continue;
    const bool continue_expected = boost::beast::iequals(it->second, "100-continue");
    fields.erase(it);
    if (continue_expected && head_.has_body) sink_->onInterimHead(100, {});
    return;
  }
}

void UpstreamRequest::pushBody(std::string_view data) {
  if (h2_) return h2_->pushBody(data);
  if (state_ == State::kDone || body_ended_) return;
  pending_.append(data);
  if ((state_ == State::kExchanging || state_ == State::kResponding) && !writing_) writeRequest();
}

void UpstreamRequest::endBody(std::vector<std::pair<std::string, std::string>> trailers) {
  if (h2_) {
    body_ended_ = true;
    return h2_->endBody(std::move(trailers));
  }
  if (state_ == State::kDone || body_ended_) return;
  body_ended_ = true;
  trailers_ = std::move(trailers);
  if ((state_ == State::kExchanging || state_ == State::kResponding) && !writing_) writeRequest();
}

void UpstreamRequest::resumeResponse() {
  if (h2_) return h2_->resumeResponse();
  if (state_ != State::kResponding || !paused_) return;
  paused_ = false;
  deadline_ = Clock::now() + std::chrono::milliseconds(cluster_->config().idle_timeout_ms);
  if (up_->in.size() > 0) return relayResponse();
  readResponse();
}

void UpstreamRequest::cancel() {
  if (h2_) h2_->cancel();
  if (state_ == State::kDone) return;
  sink_ = nullptr;
  state_ = State::kDone;
  dropUpstream();
}

std::string UpstreamRequest::where() const {
  if (!host_) return "cluster \"" + cluster_->name() + "\"";
  return "instance " + host_->endpoint().id + " of cluster \"" + cluster_->name() + "\"";
}

// ---------------------------------------------------------------------------------------------
// Deadlines.

void UpstreamRequest::checkDeadline(TimePoint now) {
  if (h2_) return h2_->checkDeadline(now);
  if (state_ == State::kDone || state_ == State::kIdle) return;
  // A departed instance's requests in flight may finish within drain_timeout_ms, no longer.
  if (host_ && host_->departed() && now >= host_->drain_deadline)
    return fail(504, "drain-timeout",
                where() + " left its set and did not answer within drain_timeout_ms");
  if (now < deadline_) return;
  deadline_ = TimePoint::max();
  switch (state_) {
    case State::kConnecting:
      if (host_) {
        ++host_->stats.connect_failures;
        cluster_->recordFailure(*host_);
      }
      return onTryFailure(asio::error::timed_out, true);
    case State::kExchanging:
      if (host_) {
        // A try that hangs: another instance may answer within the request's time.
        cluster_->recordFailure(*host_);
        excluded_ = host_.get();
        if (worker_.time().now() < request_deadline_ && retry(TryFailure::kTimeout, false))
          return;
      }
      return fail(504, "upstream-timeout", where() + " did not answer in time");
    case State::kResponding:
      // Paused: the client has not read for idle_timeout_ms; else the instance stopped sending.
      if (paused_) return fail(504, "client-stalled", "the client stopped reading the response");
      return fail(504, "upstream-timeout", where() + " stopped sending its response");
    default:
      return;
  }
}

// ---------------------------------------------------------------------------------------------
// Picking, retrying, finishing.

void UpstreamRequest::pickAndConnect() {
  state_ = State::kConnecting;
  releaseLoad();  // a previous attempt's, should one still count
  host_ = cluster_->pick(hash_key_, excluded_);
  if (!host_)
    return fail(503, "no-healthy-instance",
                "no instance of cluster \"" + cluster_->name() + "\" is available");
  ++host_->load.in_flight;
  load_counted_ = true;
  latency_sampled_ = false;
  picked_at_ = worker_.time().now();
  tls_failure_.clear();
  if (auto idle = host_->takeIdle()) {
    up_ = std::move(idle);
    ++up_gen_;
    return onConnected(error_code(), up_gen_);
  }
  if (host_->atConnectionLimit())
    return fail(503, "connection-limit", where() + " is at max_connections_per_instance");
  up_ = UpstreamConnection::open(worker_.context(), worker_.tls(), cluster_->config(),
                                 host_->endpoint());
  if (!up_)
    return fail(502, "upstream-tls",
                "cluster \"" + cluster_->name() +
                    "\": its TLS settings did not load (the gateway's log says why)");
  ++up_gen_;
  host_->connectionOpened();
  deadline_ = Clock::now() + std::chrono::milliseconds(cluster_->config().connect_timeout_ms);
  up_->stream.asyncConnect(
      host_->endpoint().address,
      [self = shared_from_this(), gen = up_gen_](error_code ec) { self->onConnected(ec, gen); });
}

void UpstreamRequest::onTryFailure(error_code ec, bool connect_phase) {
  const bool was_reused = up_ && up_->reused;
  const UpstreamHost* failed = host_.get();
  // A reused connection the instance had closed is the keep-alive race, not its fault.
  if (!connect_phase && host_ && !was_reused) cluster_->recordFailure(*host_);
  dropUpstream();
  if (response_started_) return fail(502, "upstream-reset", where() + " cut its response");
  excluded_ = failed;
  if (retry(connect_phase ? TryFailure::kConnect : TryFailure::kReset, was_reused)) return;
  if (connect_phase && !tls_failure_.empty())
    return fail(502, "upstream-tls", where() + ": TLS handshake failed: " + tls_failure_);
  if (connect_phase)
    return fail(502, "connect-failure", where() + ": connect failed: " + ec.message());
  fail(502, "upstream-reset", where() + " closed the connection: " + ec.message());
}

bool UpstreamRequest::retry(TryFailure why, bool was_reused) {
  if (state_ == State::kDone) return false;
  TryState s;
  s.response_started = response_started_;
  s.replay_ok = replay_ok_;
  s.idempotent = idempotent_;
  s.request_done = tail_sent_;
  s.was_reused = was_reused;
  s.attempts = attempts_;
  s.request_deadline = request_deadline_;
  if (!mayRetry(*cluster_, why, s, worker_.time().now())) return false;
  dropUpstream();
  if (writing_ && sink_) {
    // The write in flight is in replay_: its body bytes are taken.
    const std::size_t n = writing_body_.size();
    writing_ = false;
    if (n) sink_->onRequestBodyConsumed(n);
  }
  writing_ = false;
  ++attempts_;
  ++cluster_->retries;
  pickAndConnect();
  return true;
}

bool UpstreamRequest::onFinalHead(unsigned status) {
  cluster_->recordAnswer(*host_, status);
  if (cluster_->retryOnStatus(status)) {
    excluded_ = host_.get();
    auto host = host_;  // counted as this instance's answer, though the client will not see it
    if (retry(TryFailure::kStatus, false)) {
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

void UpstreamRequest::fail(unsigned status, std::string_view cause, const std::string& detail) {
  if (state_ == State::kDone) return;
  dropUpstream();
  state_ = State::kDone;
  deadline_ = TimePoint::max();
  error_cause_.assign(cause);
  ++stats_.errors[error_cause_];
  ResponseSink* sink = sink_;
  sink_ = nullptr;
  if (!response_started_) final_status_ = status;
  finish();
  if (!sink) return;
  if (response_started_) return sink->onResponseReset(cause);
  sink->onGatewayError(status, cause, detail);
}

void UpstreamRequest::finish() {
  AccessRecord r;
  r.listener = worker_.snapshot().config->listeners[listener_index_].name;
  r.client_ip = head_.client_ip;
  r.method = head_.method;
  r.target = head_.path;
  r.cluster = cluster_ ? std::string_view(cluster_->name()) : std::string_view();
  r.upstream = host_ ? std::string_view(host_->endpoint().id) : std::string_view();
  r.error = error_cause_;
  r.status = final_status_;
  r.bytes_sent = bytes_sent_;
  r.version = head_.version;
  countRequest(worker_, stats_, r, started_);
}

void UpstreamRequest::releaseLoad() {
  if (load_counted_ && host_) --host_->load.in_flight;
  load_counted_ = false;
}

void UpstreamRequest::dropUpstream() {
  releaseLoad();
  if (counted_in_flight_ && host_) --host_->stats.in_flight;
  counted_in_flight_ = false;
  reading_ = false;
  if (up_) {
    ++up_gen_;  // handlers of the dropped connection see a stale generation
    if (host_)
      host_->discard(std::move(up_));
    else
      up_.reset();
  }
}

// ---------------------------------------------------------------------------------------------
// HTTP/1.1 try: the request written on a pooled or new connection, the response parsed.

void UpstreamRequest::onConnected(error_code ec, uint64_t gen) {
  if (gen != up_gen_ || state_ != State::kConnecting) return;
  if (ec) {
    ++host_->stats.connect_failures;
    cluster_->recordFailure(*host_);
    // A TLS failure (verification, protocol) is a connect failure that says why.
    if (up_->stream.handshakeStarted()) tls_failure_ = up_->stream.describeError(ec);
    return onTryFailure(ec, true);
  }
  if (!up_->reused) {
    error_code ignored;
    up_->stream.socket().set_option(tcp::no_delay(true), ignored);
  }
  ++host_->stats.in_flight;
  counted_in_flight_ = true;
  state_ = State::kExchanging;
  // The per-try timeout starts once the request is sent: a slow upload is not the instance's
  // fault.
  deadline_ = request_deadline_;
  resetParser();
  head_sent_ = false;
  tail_sent_ = false;
  upstream_eof_ = false;
  paused_ = false;
  writeRequest();
  readResponse();
}

void UpstreamRequest::writeRequest() {
  if (writing_ || !up_) return;
  bufs_.clear();
  writing_body_.clear();
  framing_.clear();
  tail_.clear();
  write_has_tail_ = false;
  resending_ = !head_sent_ && !replay_.empty();
  if (resending_) {
    // A retry: what the failed try wrote goes first, then the body that followed.
    bufs_.push_back(asio::buffer(replay_));
  } else {
    if (!head_sent_) bufs_.push_back(asio::buffer(up_head_));
    if (!pending_.empty()) {
      writing_body_.swap(pending_);
      if (chunked_) {
        appendChunkHeader(framing_, writing_body_.size());
        bufs_.push_back(asio::buffer(framing_));
      }
      bufs_.push_back(asio::buffer(writing_body_));
      if (chunked_) tail_.append(kCrlf);
    }
    if (body_ended_ && !tail_sent_) {
      write_has_tail_ = true;
      if (chunked_) appendLastChunk(tail_, trailers_);
    }
    if (!tail_.empty()) bufs_.push_back(asio::buffer(tail_));
    if (replay_ok_ && !bufs_.empty() && head_.has_body) {
      // Keep what is written, for a retry, while it is small enough. (Without a body a retry
      // writes the head again from up_head_: nothing to keep.)
      const std::size_t n = asio::buffer_size(bufs_);
      if (replay_.size() + n > up_head_.size() + kReplayLimit) {
        replay_ok_ = false;
        replay_.clear();
      } else {
        for (const auto& b : bufs_)
          replay_.append(static_cast<const char*>(b.data()), b.size());
        replay_has_tail_ = replay_has_tail_ || write_has_tail_;
      }
    }
  }
  if (bufs_.empty() || (head_sent_ && asio::buffer_size(bufs_) == 0)) {
    if (write_has_tail_) onRequestSent();
    return;
  }
  writing_ = true;
  up_->stream.asyncWrite(bufs_,
                         [self = shared_from_this(), gen = up_gen_](error_code ec, std::size_t) {
                           self->onRequestWritten(ec, gen);
                         });
}

void UpstreamRequest::onRequestWritten(error_code ec, uint64_t gen) {
  if (gen != up_gen_ || state_ == State::kDone || state_ == State::kConnecting) return;
  writing_ = false;
  if (ec) return onTryFailure(ec, false);
  head_sent_ = true;
  if (resending_) {
    resending_ = false;
    if (replay_has_tail_) return onRequestSent();
    return writeRequest();
  }
  const std::size_t consumed = writing_body_.size();
  if (consumed && sink_) {
    sink_->onRequestBodyConsumed(consumed);
    if (state_ == State::kDone) return;
  }
  if (write_has_tail_) return onRequestSent();
  if (!pending_.empty() || body_ended_) writeRequest();
}

void UpstreamRequest::onRequestSent() {
  tail_sent_ = true;
  const uint32_t per_try = cluster_->config().retries.per_try_timeout_ms;
  if (per_try > 0 && state_ == State::kExchanging)
    deadline_ = std::min(request_deadline_, Clock::now() + std::chrono::milliseconds(per_try));
  if (resp_parser_ && resp_parser_->is_done() && state_ == State::kResponding)
    onResponseComplete();
}

void UpstreamRequest::resetParser() {
  resp_.reset();
  resp_parser_.emplace(resp_);
  resp_parser_->header_limit(kResponseHeaderLimit);
  resp_parser_->body_limit(kNoBodyLimit);
  resp_parser_->eager(true);
  if (head_request_) resp_parser_->skip(true);
}

void UpstreamRequest::readResponse() {
  if (reading_ || paused_ || !up_) return;
  reading_ = true;
  up_->stream.async_read_some(
      up_->in.prepare(kReadSize),
      [self = shared_from_this(), gen = up_gen_](error_code ec, std::size_t n) {
        self->onResponseRead(ec, n, gen);
      });
}

void UpstreamRequest::onResponseRead(error_code ec, std::size_t n, uint64_t gen) {
  if (gen != up_gen_ || state_ == State::kDone || state_ == State::kConnecting) return;
  reading_ = false;
  if (!ec) {
    up_->in.commit(n);
    if (state_ == State::kResponding)
      deadline_ = Clock::now() + std::chrono::milliseconds(cluster_->config().idle_timeout_ms);
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
  onTryFailure(ec, false);
}

void UpstreamRequest::relayResponse() {
  while (!resp_parser_->is_done() && up_->in.size() > 0) {
    error_code ec;
    // With eager parsing a feed may use body bytes and then stop for more (need_more): what it
    // used and found is still relayed.
    const std::size_t used = resp_parser_->feed(view(up_->in), ec);
    const bool need_more = ec == http::error::need_more;
    if (ec && !need_more)
      return fail(502, "bad-upstream-response",
                  where() + " sent a malformed response: " + ec.message());
    if (resp_.header_done && state_ == State::kExchanging) {
      if (resp_.status == 101) {
        if (head_.upgrade.empty())
          return fail(502, "bad-upstream-response", where() + " switched protocols unasked");
        return handOverUpgrade(used);
      }
      if (resp_.status < 200) {
        // 100 Continue and friends: relayed to a sink that wants them; the final answer follows.
        endToEnd(resp_.fields, out_fields_);
        sink_->onInterimHead(resp_.status, out_fields_);
        if (state_ == State::kDone) return;
        up_->in.consume(used);
        resetParser();
        continue;
      }
      if (onFinalHead(resp_.status)) return;
      final_status_ = resp_.status;
      if (!latency_sampled_) {
        // The instance's latency, for p2c_ewma: from pick (connect included) to its answer.
        latency_sampled_ = true;
        const auto now = worker_.time().now();
        routing::observeLatency(
            host_->load, std::chrono::duration<double, std::micro>(now - picked_at_).count(), now);
      }
      response_started_ = true;
      state_ = State::kResponding;
      deadline_ = Clock::now() + std::chrono::milliseconds(cluster_->config().idle_timeout_ms);
      endToEnd(resp_.fields, out_fields_);
      sink_->onResponseHead(resp_.status, out_fields_);
      if (state_ == State::kDone) return;
    }
    for (auto piece : resp_.body) {
      bytes_sent_ += piece.size();
      if (!sink_->onResponseData(piece)) paused_ = true;
      if (state_ == State::kDone) return;
    }
    resp_.body.clear();
    if (resp_parser_->is_done() && !resp_.trailers.empty()) {
      endToEnd(resp_.trailers, out_fields_);
      sink_->onResponseTrailers(out_fields_);
      if (state_ == State::kDone) return;
    }
    up_->in.consume(used);
    if (paused_) return;  // the idle deadline now waits for the client to read
    if (need_more) break;
  }
  if (resp_parser_->is_done() && state_ == State::kResponding) {
    // The last request bytes are on their way: the connection may be reused once they are out.
    if (writing_ && body_ended_) return;
    return onResponseComplete();
  }
  if (upstream_eof_) return onTryFailure(asio::error::eof, false);
  readResponse();
}

void UpstreamRequest::onResponseComplete() {
  releaseLoad();
  --host_->stats.in_flight;
  counted_in_flight_ = false;
  host_->stats.responses.add(final_status_);
  host_->stats.latency.observeMicros(static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started_).count()));
  // The connection carries another request only when this one went out whole.
  const bool reusable = tail_sent_ && !writing_ && resp_parser_->keep_alive() && !upstream_eof_ &&
                        up_->in.size() == 0;
  host_->release(std::move(up_), reusable, Clock::now());
  ++up_gen_;
  state_ = State::kDone;
  deadline_ = TimePoint::max();
  finish();
  ResponseSink* sink = sink_;
  sink_ = nullptr;
  if (sink) sink->onResponseEnd();
}

void UpstreamRequest::handOverUpgrade(std::size_t head_bytes) {
  // The 101 ends the exchange: the instance answered (no outlier verdict on a tunnel, as for
  // any 1xx), and its connection becomes the downstream's tunnel with what followed the head.
  up_->in.consume(head_bytes);  // flat_buffer keeps the bytes: resp_'s views stay valid
  final_status_ = 101;
  response_started_ = true;
  releaseLoad();
  --host_->stats.in_flight;
  counted_in_flight_ = false;
  host_->stats.responses.add(101);
  state_ = State::kDone;
  deadline_ = TimePoint::max();
  finish();
  UpstreamTunnel tunnel{host_, std::move(up_), cluster_->config().idle_timeout_ms};
  ++up_gen_;  // the request write's handler, should it still be queued, sees a stale generation
  ResponseSink* sink = sink_;
  sink_ = nullptr;
  if (!sink) return tunnel.host->discard(std::move(tunnel.conn));
  sink->onUpgrade(resp_.fields, std::move(tunnel));
}

}  // namespace switchyard::proxy
