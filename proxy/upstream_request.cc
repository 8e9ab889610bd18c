#include "proxy/upstream_request.h"

#include <algorithm>
#include <boost/beast/core/string.hpp>

#include "proxy/cluster_runtime.h"
#include "proxy/h2_upstream_try.h"
#include "proxy/http1_upstream_try.h"
#include "proxy/request_log.h"
#include "proxy/worker.h"
#include "routing/route_table.h"

namespace switchyard::proxy {

namespace {

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

// The gateway's answer when the last try failed before any response byte.
struct FailAnswer {
  unsigned status;
  std::string_view cause;
};

FailAnswer answerFor(TryError kind) {
  switch (kind) {
    case TryError::kConnect:
      return {502, "connect-failure"};
    case TryError::kTls:
      return {502, "upstream-tls"};
    case TryError::kRefused:
      return {502, "refused-stream"};
    case TryError::kTimeout:
      return {504, "upstream-timeout"};
    case TryError::kMalformed:
      return {502, "bad-upstream-response"};
    case TryError::kReset:
    case TryError::kLost:
      break;
  }
  return {502, "upstream-reset"};
}

}  // namespace

void ResponseSink::onUpgrade(const std::vector<HeaderField>&, UpstreamTunnel tunnel) {
  if (tunnel.host) tunnel.host->discard(std::move(tunnel.conn));
}

UpstreamRequest::UpstreamRequest(Worker& worker, uint32_t listener_index, ResponseSink& sink)
    : worker_(worker),
      listener_index_(listener_index),
      stats_(worker.listenerStats(listener_index)),
      sink_(&sink) {}

UpstreamRequest::~UpstreamRequest() { dropTry(); }

void UpstreamRequest::start(RequestHead head) {
  head_ = std::move(head);
  started_ = Clock::now();
  idempotent_ = isIdempotentMethod(head_.method);
  body_ended_ = !head_.has_body;

  const HeadView fields(head_);
  const auto& snapshot = worker_.snapshot();
  const std::string_view host = fields.get("host").value_or("");
  const int cluster_index =
      snapshot.routes[listener_index_]->match(host, head_.path, fields, worker_.random());
  cluster_ = worker_.cluster(cluster_index);
  if (!cluster_) return fail(404, "no-route", "no route matches this request");
  hash_key_ = cluster_->hashKey(fields, head_.client_ip);
  // One try object for the request, started again for every retry. Apart from the exchange:
  // each stays small enough for the allocator's per-thread cache.
  if (cluster_->config().protocol == config::UpstreamProtocol::kHttp1) {
    try_ = std::make_unique<Http1UpstreamTry>(worker_, static_cast<UpstreamTryEvents&>(*this));
  } else {
    if (!head_.upgrade.empty())
      return fail(501, "upgrade-unsupported",
                  "cluster \"" + cluster_->name() + "\" speaks HTTP/2: Upgrade is not relayed");
    answerExpectForHttp2();
    if (state_ == State::kDone) return;  // the sink cancelled
    try_ = std::make_unique<H2UpstreamTry>(worker_, static_cast<UpstreamTryEvents&>(*this));
  }
  try_->prepare(head_, *cluster_);

  const auto now = worker_.time().now();
  request_deadline_ = now + std::chrono::milliseconds(cluster_->config().request_timeout_ms);
  cluster_->retryBudget().onRequest(now);
  pickAndStart();
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
  if (state_ == State::kDone || body_ended_ || data.empty()) return;
  if (replay_ok_) {
    if (replay_.size() + data.size() > kReplayLimit) {
      replay_ok_ = false;
      replay_.clear();
      replay_.shrink_to_fit();
    } else {
      replay_.append(data);
    }
  }
  if (try_live_) try_->sendBody(data);
}

void UpstreamRequest::endBody(RequestTrailers trailers) {
  if (state_ == State::kDone || body_ended_) return;
  body_ended_ = true;
  trailers_ = std::move(trailers);
  if (try_live_) try_->endBody(trailers_);
}

void UpstreamRequest::resumeResponse() {
  if (state_ != State::kResponding || !paused_) return;
  paused_ = false;
  deadline_ = worker_.time().now() + std::chrono::milliseconds(cluster_->config().idle_timeout_ms);
  try_->resume();
}

void UpstreamRequest::cancel() {
  if (state_ == State::kDone) return;
  sink_ = nullptr;
  state_ = State::kDone;
  dropTry();
}

std::string UpstreamRequest::where() const {
  if (!host_) return "cluster \"" + cluster_->name() + "\"";
  return "instance " + host_->endpoint().id + " of cluster \"" + cluster_->name() + "\"";
}

// ---------------------------------------------------------------------------------------------
// Deadlines.

void UpstreamRequest::checkDeadline(TimePoint now) {
  if (state_ == State::kDone || state_ == State::kIdle) return;
  // A departed instance's requests in flight may finish within drain_timeout_ms, no longer.
  if (host_ && host_->departed() && now >= host_->drain_deadline)
    return fail(504, "drain-timeout",
                where() + " left its set and did not answer within drain_timeout_ms");
  if (try_live_) {
    try_->tick(now);
    if (state_ == State::kDone) return;
  }
  if (now < deadline_) return;
  deadline_ = TimePoint::max();
  switch (state_) {
    case State::kExchanging:
      if (adaptive_deadline_ && now < request_deadline_) {
        // The instance is slow past the cluster's usual or hung: it counts against it, and the
        // request moves when a retry is allowed; otherwise this try may use the request's
        // whole time (an adaptive deadline never fails a request by itself).
        adaptive_deadline_ = false;
        ++cluster_->try_timeouts;
        cluster_->recordFailure(*host_);
        // Starting over on the same instance would only lose the time spent: move only when
        // another instance can take it.
        const auto other = cluster_->pick(hash_key_, host_.get());
        excluded_ = host_.get();
        if (other && other != host_ && retry(TryFailure::kTimeout, false)) return;
        deadline_ = request_deadline_;
        return;
      }
      // A try that hangs: another instance may answer within the request's time.
      dropTry();
      return onTryFailed(TryFault{TryError::kTimeout, true, false, "did not answer in time"});
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

void UpstreamRequest::pickAndStart() {
  state_ = State::kConnecting;
  deadline_ = TimePoint::max();  // the try keeps its connect deadline
  adaptive_deadline_ = false;
  dropTry();  // a previous try's load, should it still count
  host_ = cluster_->pick(hash_key_, excluded_);
  if (!host_)
    return fail(503, "no-healthy-instance",
                "no instance of cluster \"" + cluster_->name() + "\" is available");
  ++host_->load.in_flight;
  load_counted_ = true;
  picked_at_ = worker_.time().now();
  try_taken_ = 0;
  request_sent_ = false;
  paused_ = false;
  try_live_ = true;
  const uint64_t gen = ++try_gen_;
  switch (try_->start(*host_)) {
    case TryStart::kStarted:
      break;
    case TryStart::kConnectionLimit:
      try_live_ = false;
      return fail(503, "connection-limit", where() + " is at max_connections_per_instance");
    case TryStart::kTlsNotLoaded:
      try_live_ = false;
      return fail(502, "upstream-tls",
                  "cluster \"" + cluster_->name() +
                      "\": its TLS settings did not load (the gateway's log says why)");
  }
  if (gen != try_gen_ || !try_live_ || !head_.has_body) return;
  // A retry sends what the failed try was given; the rest follows through pushBody().
  if (!replay_.empty()) {
    try_->sendBody(replay_);
    if (gen != try_gen_ || !try_live_) return;
  }
  if (body_ended_) try_->endBody(trailers_);
}

bool UpstreamRequest::retry(TryFailure why, bool stale) {
  if (state_ == State::kDone) return false;
  TryState s;
  s.response_started = response_started_;
  s.replay_ok = replay_ok_;
  s.idempotent = idempotent_;
  s.request_done = request_sent_;
  s.was_reused = stale;
  s.attempts = attempts_;
  s.request_deadline = request_deadline_;
  if (!mayRetry(*cluster_, why, s, worker_.time().now())) return false;
  ++attempts_;
  ++cluster_->retries;
  pickAndStart();
  return true;
}

void UpstreamRequest::fail(unsigned status, std::string_view cause, const std::string& detail) {
  if (state_ == State::kDone) return;
  dropTry();
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

void UpstreamRequest::dropTry() {
  if (try_live_) {
    try_live_ = false;
    try_->abandon();
  }
  if (load_counted_ && host_) --host_->load.in_flight;
  load_counted_ = false;
  if (counted_in_flight_ && host_) --host_->stats.in_flight;
  counted_in_flight_ = false;
}

// ---------------------------------------------------------------------------------------------
// The try's events.

void UpstreamRequest::onTryConnected() {
  if (state_ != State::kConnecting) return;
  cluster_->recordConnected(*host_);
  ++host_->stats.in_flight;
  counted_in_flight_ = true;
  state_ = State::kExchanging;
  // The per-try timeout starts once the request is sent: a slow upload is not the instance's
  // fault.
  deadline_ = request_deadline_;
}

void UpstreamRequest::onTryBodyConsumed(std::size_t n) {
  // A retry sends the body again: only what goes beyond the furthest try is news to the sink.
  try_taken_ += n;
  if (try_taken_ <= reported_ || !sink_) return;
  const uint64_t more = try_taken_ - reported_;
  reported_ = try_taken_;
  sink_->onRequestBodyConsumed(more);
}

void UpstreamRequest::onTryRequestSent() {
  request_sent_ = true;
  if (state_ != State::kExchanging) return;
  const auto now = worker_.time().now();
  sent_at_ = now;
  const auto& per_try = cluster_->config().retries.per_try_timeout_ms;
  if (per_try) {
    if (*per_try > 0)
      deadline_ = std::min(request_deadline_, now + std::chrono::milliseconds(*per_try));
  } else if (idempotent_) {
    // auto: a non-idempotent request is never repeated, so it only has the request's deadline.
    adaptive_deadline_ = true;
    deadline_ = std::min(request_deadline_, now + cluster_->adaptiveTimeout().deadline(now));
  }
}

void UpstreamRequest::onTryInterimHead(unsigned status, const std::vector<HeaderField>& fields) {
  if (state_ == State::kExchanging) sink_->onInterimHead(status, fields);
}

void UpstreamRequest::onTryHead(unsigned status, const std::vector<HeaderField>& fields) {
  if (state_ != State::kExchanging) return;
  cluster_->recordAnswer(*host_, status);
  if (cluster_->retryOnStatus(status)) {
    excluded_ = host_.get();
    auto host = host_;  // counted as this instance's answer, though the client will not see it
    if (retry(TryFailure::kStatus, false)) {
      host->stats.responses.add(status);
      return;
    }
  }
  // The answer goes to the client: no retry from here on.
  replay_ok_ = false;
  replay_.clear();
  replay_.shrink_to_fit();
  final_status_ = status;
  // The instance's latency, for p2c_ewma: from pick (connect included) to its answer.
  const auto now = worker_.time().now();
  adaptive_deadline_ = false;
  // The cluster's time to a response head, for the adaptive per-try deadline: from the request
  // sent, as that deadline counts.
  if (request_sent_)
    cluster_->adaptiveTimeout().observe(
        std::chrono::duration_cast<std::chrono::microseconds>(now - sent_at_), now);
  routing::observeLatency(host_->load,
                          std::chrono::duration<double, std::micro>(now - picked_at_).count(), now);
  response_started_ = true;
  state_ = State::kResponding;
  deadline_ = now + std::chrono::milliseconds(cluster_->config().idle_timeout_ms);
  sink_->onResponseHead(status, fields);
}

bool UpstreamRequest::onTryData(std::string_view data) {
  if (state_ != State::kResponding) return false;
  bytes_sent_ += data.size();
  deadline_ = worker_.time().now() + std::chrono::milliseconds(cluster_->config().idle_timeout_ms);
  if (!sink_->onResponseData(data)) paused_ = true;
  return !paused_ && state_ == State::kResponding;
}

void UpstreamRequest::onTryTrailers(const std::vector<HeaderField>& trailers) {
  if (state_ != State::kResponding) return;
  sink_->onResponseTrailers(trailers);
}

void UpstreamRequest::onTryEnd() {
  if (state_ != State::kResponding) return;
  try_live_ = false;  // the try gave its connection back
  dropTry();
  host_->stats.responses.add(final_status_);
  const auto now = worker_.time().now();
  host_->stats.latency.observeMicros(static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(now - picked_at_).count()));
  state_ = State::kDone;
  deadline_ = TimePoint::max();
  finish();
  ResponseSink* sink = sink_;
  sink_ = nullptr;
  if (sink) sink->onResponseEnd();
}

void UpstreamRequest::onTryUpgrade(const std::vector<HeaderField>& fields,
                                   std::unique_ptr<UpstreamConnection> conn) {
  // The 101 ends the exchange: the instance answered (no outlier verdict on a tunnel, as for
  // any 1xx), and its connection becomes the downstream's tunnel.
  if (state_ != State::kExchanging) return host_->discard(std::move(conn));
  try_live_ = false;
  dropTry();
  final_status_ = 101;
  response_started_ = true;
  host_->stats.responses.add(101);
  state_ = State::kDone;
  deadline_ = TimePoint::max();
  finish();
  UpstreamTunnel tunnel{host_, std::move(conn), cluster_->config().idle_timeout_ms,
                        static_cast<int>(cluster_->snapshot().index), cluster_->name()};
  ResponseSink* sink = sink_;
  sink_ = nullptr;
  if (!sink) return tunnel.host->discard(std::move(tunnel.conn));
  sink->onUpgrade(fields, std::move(tunnel));
}

void UpstreamRequest::onTryFailed(const TryFault& fault) {
  if (state_ == State::kDone) return;
  try_live_ = false;  // the try's connection or stream is gone already
  // A refused request was not processed, a stale keep-alive connection is the race, and a
  // malformed answer is the instance's word: none counts against it.
  if (fault.kind != TryError::kRefused && fault.kind != TryError::kMalformed && !fault.stale)
    cluster_->recordFailure(*host_);
  dropTry();
  if (response_started_) return fail(502, "upstream-reset", where() + " cut its response");
  excluded_ = host_.get();
  if (fault.kind != TryError::kMalformed) {
    TryFailure why = fault.processed ? TryFailure::kReset : TryFailure::kConnect;
    if (fault.kind == TryError::kTimeout) why = TryFailure::kTimeout;
    const auto& on = cluster_->config().retries.on;
    // A refused stream moves like a connect failure, when retries.on lists it.
    const bool allowed = fault.kind != TryError::kRefused ||
                         std::find(on.begin(), on.end(), "refused-stream") != on.end();
    if (allowed && retry(why, fault.stale)) return;
  }
  const FailAnswer answer = answerFor(fault.kind);
  if (fault.kind == TryError::kTimeout)
    return fail(answer.status, answer.cause, where() + " " + std::string(fault.detail));
  fail(answer.status, answer.cause, where() + ": " + std::string(fault.detail));
}

}  // namespace switchyard::proxy
