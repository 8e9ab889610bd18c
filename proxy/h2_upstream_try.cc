#include "proxy/h2_upstream_try.h"

#include <algorithm>
#include <boost/beast/core/string.hpp>

#include "proxy/cluster_runtime.h"
#include "proxy/h2_client_pool.h"
#include "proxy/tls_context_set.h"
#include "proxy/upstream_request.h"
#include "proxy/worker.h"

namespace switchyard::proxy {

namespace {

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
  out.reserve(16);  // one allocation for a usual response head, not one per doubling
  for (const auto& h : in)
    out.push_back(HeaderField{http::string_to_field(h.name), h.name, h.value});
}

}  // namespace

void H2UpstreamTry::requestHeaders(const RequestHead& head, std::string_view scheme,
                                   std::string& xff, HeaderRefs& out) {
  out.clear();
  out.push_back({":method", head.method});
  out.push_back({":scheme", scheme});
  out.push_back({":authority", head.authority});
  out.push_back({":path", head.path});
  xff.clear();
  bool te_trailers = false;
  for (const auto& [name, value] : head.fields) {
    if (name == "te") te_trailers = te_trailers || hasTrailersToken(value);
    if (name == "x-forwarded-for" && xff.empty()) xff = value;
    if (dropForH2(name)) continue;
    out.push_back({name, value});
  }
  if (te_trailers) out.push_back({"te", "trailers"});
  if (!xff.empty()) xff.append(", ");
  xff.append(head.client_ip);
  out.push_back({"x-forwarded-for", xff});
  out.push_back({"x-forwarded-proto", head.scheme == "https" ? "https" : "http"});
}

void H2UpstreamTry::prepare(const RequestHead& head, ClusterRuntime& cluster) {
  cluster_ = &cluster;
  const bool tls = cluster.config().protocol == config::UpstreamProtocol::kH2;
  requestHeaders(head, tls ? "https" : "http", xff_, headers_);
  has_body_ = head.has_body;
}

TryStart H2UpstreamTry::start(UpstreamHost& host) {
  abandon();
  given_ = 0;
  reported_ = 0;
  headed_ = false;
  H2ClientConnection::Options options;
  options.connect_timeout_ms = cluster_->config().connect_timeout_ms;
  options.keepalive_interval_ms = cluster_->config().http2.keepalive_interval_ms;
  options.keepalive_timeout_ms = cluster_->config().http2.keepalive_timeout_ms;
  if (cluster_->config().protocol == config::UpstreamProtocol::kH2) {
    options.tls = worker_.tls() ? worker_.tls()->cluster(cluster_->name()) : nullptr;
    if (!options.tls) return TryStart::kTlsNotLoaded;
  }
  if (!host.h2) host.h2 = std::make_unique<H2ClientPool>(worker_.context(), host);
  conn_ = host.h2->acquire(options);
  if (conn_)
    stream_id_ = conn_->submit(std::span<const H2HeaderRef>(headers_.data(), headers_.size()),
                               has_body_, this);
  if (!conn_ || stream_id_ == 0) {
    conn_.reset();
    stream_id_ = 0;
    return TryStart::kConnectionLimit;
  }
  // The connection keeps its own connect deadline: to the exchange the stream is the try.
  const uint64_t gen = gen_;
  events_.onTryConnected();
  if (gen == gen_ && !has_body_) events_.onTryRequestSent();
  return TryStart::kStarted;
}

void H2UpstreamTry::sendBody(std::string_view data) {
  if (!conn_ || data.empty()) return;
  given_ += data.size();
  conn_->sendData(stream_id_, data);
  reportConsumed();
}

void H2UpstreamTry::endBody(const RequestTrailers& trailers) {
  if (!conn_) return;
  H2Headers t;
  t.reserve(trailers.size());
  for (const auto& [n, v] : trailers) t.push_back({n, v});
  conn_->endBody(stream_id_, std::move(t));
  events_.onTryRequestSent();
}

void H2UpstreamTry::reportConsumed() {
  // Bytes framed by the connection (no longer in its buffer) are taken.
  if (!conn_) return;
  const uint64_t buffered = conn_->bufferedBody(stream_id_);
  const uint64_t taken = given_ - std::min<uint64_t>(buffered, given_);
  if (taken <= reported_) return;
  const uint64_t n = taken - reported_;
  reported_ = taken;
  events_.onTryBodyConsumed(n);
}

void H2UpstreamTry::resume() {
  if (conn_ && unconsumed_) conn_->consume(stream_id_, unconsumed_);
  unconsumed_ = 0;
}

void H2UpstreamTry::abandon() {
  ++gen_;
  if (conn_ && stream_id_) {
    conn_->consume(stream_id_, unconsumed_);
    conn_->cancel(stream_id_);
  }
  conn_.reset();
  stream_id_ = 0;
  unconsumed_ = 0;
}

void H2UpstreamTry::failed(TryError kind, bool processed, std::string_view detail) {
  ++gen_;
  stream_id_ = 0;  // gone already: nothing to cancel
  unconsumed_ = 0;
  conn_.reset();
  events_.onTryFailed(TryFault{kind, processed, false, detail});
}

// ---------------------------------------------------------------------------------------------
// H2StreamHandler: the connection calls these from its I/O handlers.

void H2UpstreamTry::onH2Head(unsigned status, const H2Headers& headers, bool) {
  if (status < 200) return;  // interim answers are not relayed
  auto keep = events_.keepAlive();
  headed_ = true;
  toFields(headers, fields_);
  events_.onTryHead(status, fields_);
}

void H2UpstreamTry::onH2Data(std::string_view data) {
  const uint64_t gen = gen_;
  const bool more = events_.onTryData(data);
  if (gen != gen_ || !conn_) return;
  if (more) return conn_->consume(stream_id_, data.size());
  unconsumed_ += data.size();  // the window stays closed until resume()
}

void H2UpstreamTry::onH2Trailers(const H2Headers& trailers) {
  toFields(trailers, fields_);
  events_.onTryTrailers(fields_);
}

void H2UpstreamTry::onH2End() {
  auto keep = events_.keepAlive();
  if (!headed_) return failed(TryError::kReset, true, "the stream ended without a final response");
  abandon();  // both sides ended: only returns the window of what the exchange held back
  events_.onTryEnd();
}

void H2UpstreamTry::onH2Fail(H2Failure failure, uint32_t, std::string_view detail) {
  auto keep = events_.keepAlive();
  switch (failure) {
    case H2Failure::kConnect:
      return failed(TryError::kConnect, false, detail);
    case H2Failure::kTls:
      return failed(TryError::kTls, false, detail);
    case H2Failure::kRefused:
      return failed(TryError::kRefused, false, detail);
    case H2Failure::kReset:
      return failed(TryError::kReset, true, detail);
    case H2Failure::kLost:
      return failed(TryError::kLost, true, detail);
  }
}

void H2UpstreamTry::onH2BodyWritable() {
  auto keep = events_.keepAlive();
  reportConsumed();
}

}  // namespace switchyard::proxy
