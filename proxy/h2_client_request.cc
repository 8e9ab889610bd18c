#include "proxy/h2_client_request.h"

#include <algorithm>
#include <boost/beast/core/string.hpp>

#include "proxy/cluster_runtime.h"
#include "proxy/h2_client_pool.h"
#include "proxy/request_log.h"
#include "proxy/retry_rules.h"
#include "proxy/tls_context_set.h"
#include "proxy/worker.h"

namespace switchyard::proxy {

namespace {

// Request body bytes kept for a retry (as UpstreamRequest keeps them).
constexpr std::size_t kReplayLimit = 64 * 1024;

bool hasTrailersToken(std::string_view v) {
  while (!v.empty()) {
    auto comma = v.find(',');
    auto tok = v.substr(0, comma);
    while (!tok.empty() && (tok.front() == ' ' || tok.front() == '\t')) tok.remove_prefix(1);
    while (!tok.empty() && (tok.back() == ' ' || tok.back() == '\t')) tok.remove_suffix(1);
    if (boost::beast::iequals(tok, "trailers")) return true;
    if (comma == std::string_view::npos) break;
    v.remove_prefix(comma + 1);
  }
  return false;
}

// Connection-specific fields HTTP/2 forbids (RFC 9113 8.2.2), and those the proxy sets itself.
bool dropForH2(std::string_view name) {
  return name == "connection" || name == "keep-alive" || name == "proxy-connection" ||
         name == "transfer-encoding" || name == "upgrade" || name == "host" || name == "te" ||
         name == "x-forwarded-for" || name == "x-forwarded-proto";
}

void toFields(const H2Headers& in, std::vector<HeaderField>& out) {
  out.clear();
  for (const auto& h : in)
    out.push_back(HeaderField{http::string_to_field(h.name), h.name, h.value});
}

}  // namespace

H2Headers H2ClientRequest::requestHeaders(const RequestHead& head, std::string_view scheme) {
  H2Headers h;
  h.reserve(head.fields.size() + 6);
  h.push_back({":method", head.method});
  h.push_back({":scheme", std::string(scheme)});
  h.push_back({":authority", head.authority});
  h.push_back({":path", head.path});
  std::string xff;
  bool te_trailers = false;
  for (const auto& [name, value] : head.fields) {
    if (name == "te") te_trailers = te_trailers || hasTrailersToken(value);
    if (name == "x-forwarded-for" && xff.empty()) xff = value;
    if (dropForH2(name)) continue;
    h.push_back({name, value});
  }
  if (te_trailers) h.push_back({"te", "trailers"});
  if (!xff.empty()) xff.append(", ");
  xff.append(head.client_ip);
  h.push_back({"x-forwarded-for", std::move(xff)});
  h.push_back({"x-forwarded-proto", head.scheme == "https" ? "https" : "http"});
  return h;
}

H2ClientRequest::H2ClientRequest(Worker& worker, uint32_t listener_index, ResponseSink& sink,
                                 ClusterRuntime& cluster, std::optional<uint64_t> hash_key,
                                 const RequestHead& head, TimePoint started)
    : worker_(worker),
      listener_index_(listener_index),
      stats_(worker.listenerStats(listener_index)),
      sink_(&sink),
      cluster_(cluster),
      hash_key_(hash_key),
      head_(head),
      started_(started) {}

H2ClientRequest::~H2ClientRequest() { dropStream(); }

std::string H2ClientRequest::where() const {
  return host_ ? "instance " + host_->endpoint().id + " of cluster \"" + cluster_.name() + "\""
               : "cluster \"" + cluster_.name() + "\"";
}

void H2ClientRequest::start() {
  const bool tls = cluster_.config().protocol == config::UpstreamProtocol::kH2;
  headers_ = requestHeaders(head_, tls ? "https" : "http");
  idempotent_ = isIdempotentMethod(head_.method);
  body_ended_ = !head_.has_body;
  const auto now = worker_.time().now();
  request_deadline_ = now + std::chrono::milliseconds(cluster_.config().request_timeout_ms);
  deadline_ = request_deadline_;
  cluster_.retryBudget().onRequest(now);
  pickAndSubmit();
}

void H2ClientRequest::pickAndSubmit() {
  releaseLoad();
  host_ = cluster_.pick(hash_key_, excluded_);
  if (!host_)
    return fail(503, "no-healthy-instance",
                "no instance of cluster \"" + cluster_.name() + "\" is available");
  ++host_->load.in_flight;
  load_counted_ = true;
  picked_at_ = worker_.time().now();
  if (!host_->h2) host_->h2 = std::make_unique<H2ClientPool>(worker_.context(), *host_);
  H2ClientConnection::Options options;
  options.connect_timeout_ms = cluster_.config().connect_timeout_ms;
  if (cluster_.config().protocol == config::UpstreamProtocol::kH2) {
    options.tls = worker_.tls() ? worker_.tls()->cluster(cluster_.name()) : nullptr;
    if (!options.tls)
      return fail(502, "upstream-tls",
                  "cluster \"" + cluster_.name() + "\": its TLS settings did not load");
  }
  conn_ = host_->h2->acquire(options);
  if (conn_) stream_id_ = conn_->submit(headers_, head_.has_body, this);
  if (!conn_ || stream_id_ == 0) {
    conn_.reset();
    stream_id_ = 0;
    return fail(503, "connection-limit",
                where() + " is at max_connections_per_instance with every stream in use");
  }
  ++host_->stats.in_flight;
  counted_in_flight_ = true;
  deadline_ = request_deadline_;
  if (!head_.has_body) return armTryDeadline();
  if (!replay_.empty()) conn_->sendData(stream_id_, replay_);
  if (body_ended_) {
    H2Headers t;
    for (const auto& [n, v] : trailers_) t.push_back({n, v});
    conn_->endBody(stream_id_, std::move(t));
    armTryDeadline();
  }
}

void H2ClientRequest::armTryDeadline() {
  // The per-try timeout starts once the request is sent: a slow upload is not the instance's.
  const uint32_t per_try = cluster_.config().retries.per_try_timeout_ms;
  if (per_try > 0 && !response_started_)
    deadline_ =
        std::min(request_deadline_, worker_.time().now() + std::chrono::milliseconds(per_try));
}

void H2ClientRequest::pushBody(std::string_view data) {
  if (done_ || body_ended_ || data.empty()) return;
  received_ += data.size();
  if (replay_ok_) {
    if (replay_.size() + data.size() > kReplayLimit) {
      replay_ok_ = false;
      replay_.clear();
    } else {
      replay_.append(data);
    }
  }
  if (conn_ && stream_id_) conn_->sendData(stream_id_, data);
  reportConsumed();
}

void H2ClientRequest::endBody(std::vector<std::pair<std::string, std::string>> trailers) {
  if (done_ || body_ended_) return;
  body_ended_ = true;
  trailers_ = std::move(trailers);
  if (!conn_ || !stream_id_) return;
  H2Headers t;
  for (const auto& [n, v] : trailers_) t.push_back({n, v});
  conn_->endBody(stream_id_, std::move(t));
  armTryDeadline();
}

void H2ClientRequest::reportConsumed() {
  // Bytes framed by the connection (no longer in its buffer) are taken; so are those kept for
  // a retry. Reported once each, never more than the downstream gave.
  const uint64_t buffered = conn_ && stream_id_ ? conn_->bufferedBody(stream_id_) : received_;
  const uint64_t taken = received_ - std::min<uint64_t>(buffered, received_);
  if (taken <= reported_ || !sink_) return;
  const uint64_t n = taken - reported_;
  reported_ = taken;
  sink_->onRequestBodyConsumed(n);
}

void H2ClientRequest::onH2BodyWritable() {
  auto self = shared_from_this();
  reportConsumed();
}

void H2ClientRequest::resumeResponse() {
  if (done_ || !paused_) return;
  paused_ = false;
  deadline_ = worker_.time().now() + std::chrono::milliseconds(cluster_.config().idle_timeout_ms);
  if (conn_ && stream_id_ && unconsumed_) conn_->consume(stream_id_, unconsumed_);
  unconsumed_ = 0;
}

void H2ClientRequest::cancel() {
  if (done_) return;
  sink_ = nullptr;
  done_ = true;
  dropStream();
}

void H2ClientRequest::releaseLoad() {
  if (load_counted_ && host_) --host_->load.in_flight;
  load_counted_ = false;
}

void H2ClientRequest::dropStream() {
  releaseLoad();
  if (counted_in_flight_ && host_) --host_->stats.in_flight;
  counted_in_flight_ = false;
  if (conn_ && stream_id_) {
    conn_->consume(stream_id_, unconsumed_);
    conn_->cancel(stream_id_);
  }
  unconsumed_ = 0;
  conn_.reset();
  stream_id_ = 0;
}

bool H2ClientRequest::retry(H2Failure failure, bool timeout) {
  if (done_) return false;
  TryState s;
  s.response_started = response_started_;
  s.replay_ok = replay_ok_;
  s.idempotent = idempotent_;
  s.request_done = body_ended_;
  s.attempts = attempts_;
  s.request_deadline = request_deadline_;
  TryFailure why = TryFailure::kReset;
  if (timeout) {
    why = TryFailure::kTimeout;
  } else if (failure == H2Failure::kConnect || failure == H2Failure::kTls) {
    why = TryFailure::kConnect;  // nothing was sent: another instance may do better
  } else if (failure == H2Failure::kRefused) {
    // Nothing was processed: like a connect failure (any method, no budget), when allowed.
    const auto& on = cluster_.config().retries.on;
    if (std::find(on.begin(), on.end(), "refused-stream") == on.end()) return false;
    why = TryFailure::kConnect;
  }
  if (!mayRetry(cluster_, why, s, worker_.time().now())) return false;
  excluded_ = host_.get();
  dropStream();
  ++attempts_;
  ++cluster_.retries;
  pickAndSubmit();
  return true;
}

bool H2ClientRequest::retryOnStatus() {
  TryState s;
  s.response_started = response_started_;
  s.replay_ok = replay_ok_;
  s.idempotent = idempotent_;
  s.request_done = body_ended_;
  s.attempts = attempts_;
  s.request_deadline = request_deadline_;
  if (!mayRetry(cluster_, TryFailure::kStatus, s, worker_.time().now())) return false;
  excluded_ = host_.get();
  dropStream();
  ++attempts_;
  ++cluster_.retries;
  pickAndSubmit();
  return true;
}

// ---------------------------------------------------------------------------------------------
// The response.

void H2ClientRequest::onH2Head(unsigned status, const H2Headers& headers, bool) {
  auto self = shared_from_this();
  if (status < 200) return;  // interim answers are not relayed
  cluster_.recordAnswer(*host_, status);
  if (cluster_.retryOnStatus(status)) {
    auto host = host_;
    if (retryOnStatus()) {
      host->stats.responses.add(status);  // the instance's answer, though the client won't see it
      return;
    }
  }
  replay_ok_ = false;
  replay_.clear();
  final_status_ = status;
  const auto now = worker_.time().now();
  routing::observeLatency(host_->load,
                          std::chrono::duration<double, std::micro>(now - picked_at_).count(), now);
  response_started_ = true;
  deadline_ = now + std::chrono::milliseconds(cluster_.config().idle_timeout_ms);
  toFields(headers, fields_);
  if (sink_) sink_->onResponseHead(status, fields_);
}

void H2ClientRequest::onH2Data(std::string_view data) {
  if (done_ || !sink_) return;
  bytes_sent_ += data.size();
  deadline_ = worker_.time().now() + std::chrono::milliseconds(cluster_.config().idle_timeout_ms);
  const bool more = sink_->onResponseData(data);
  if (done_) return;
  if (paused_ || !more) {
    // The sink is full: the window stays closed until resumeResponse().
    paused_ = true;
    unconsumed_ += data.size();
    return;
  }
  conn_->consume(stream_id_, data.size());
}

void H2ClientRequest::onH2Trailers(const H2Headers& trailers) {
  if (done_ || !sink_) return;
  toFields(trailers, fields_);
  sink_->onResponseTrailers(fields_);
}

void H2ClientRequest::onH2End() {
  auto self = shared_from_this();
  if (done_) return;
  if (!response_started_)
    return onH2Fail(H2Failure::kReset, 0, "the stream ended without a final response");
  host_->stats.responses.add(final_status_);
  host_->stats.latency.observeMicros(static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(worker_.time().now() - picked_at_)
          .count()));
  dropStream();
  done_ = true;
  deadline_ = TimePoint::max();
  finish();
  ResponseSink* sink = sink_;
  sink_ = nullptr;
  if (sink) sink->onResponseEnd();
}

void H2ClientRequest::onH2Fail(H2Failure failure, uint32_t, std::string_view detail) {
  auto self = shared_from_this();
  if (done_) return;
  stream_id_ = 0;  // gone already: nothing to cancel
  unconsumed_ = 0;
  if (response_started_) return fail(502, "upstream-reset", where() + " cut its response");
  if (failure != H2Failure::kRefused) cluster_.recordFailure(*host_);
  const std::string message = where() + ": " + std::string(detail);
  if (retry(failure, false)) return;
  switch (failure) {
    case H2Failure::kConnect:
      return fail(502, "connect-failure", message);
    case H2Failure::kTls:
      return fail(502, "upstream-tls", message);
    case H2Failure::kRefused:
      return fail(502, "refused-stream", message);
    default:
      return fail(502, "upstream-reset", message);
  }
}

void H2ClientRequest::checkDeadline(TimePoint now) {
  if (done_) return;
  if (host_ && host_->departed() && now >= host_->drain_deadline)
    return fail(504, "drain-timeout",
                where() + " left its set and did not answer within drain_timeout_ms");
  if (now < deadline_) return;
  deadline_ = TimePoint::max();
  if (response_started_) {
    if (paused_) return fail(504, "client-stalled", "the client stopped reading the response");
    return fail(504, "upstream-timeout", where() + " stopped sending its response");
  }
  if (host_) cluster_.recordFailure(*host_);
  if (now < request_deadline_ && retry(H2Failure::kLost, true)) return;
  fail(504, "upstream-timeout", where() + " did not answer in time");
}

void H2ClientRequest::fail(unsigned status, std::string_view cause, const std::string& detail) {
  if (done_) return;
  auto self = shared_from_this();
  dropStream();
  done_ = true;
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

void H2ClientRequest::finish() {
  AccessRecord r;
  r.listener = worker_.snapshot().config->listeners[listener_index_].name;
  r.client_ip = head_.client_ip;
  r.method = head_.method;
  r.target = head_.path;
  r.cluster = cluster_.name();
  r.upstream = host_ ? std::string_view(host_->endpoint().id) : std::string_view();
  r.error = error_cause_;
  r.status = final_status_;
  r.bytes_sent = bytes_sent_;
  r.version = head_.version;
  countRequest(worker_, stats_, r, started_);
}

}  // namespace switchyard::proxy
