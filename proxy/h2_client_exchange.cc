#include "proxy/h2_client_exchange.h"

#include <boost/asio/write.hpp>
#include <boost/beast/core/string.hpp>
#include <charconv>

#include "proxy/cluster_runtime.h"
#include "proxy/h2_client_pool.h"
#include "proxy/http1_head_writer.h"
#include "proxy/worker.h"

namespace switchyard::proxy {

namespace asio = boost::asio;
using boost::beast::iequals;
using boost::system::error_code;

namespace {

constexpr std::size_t kReadSize = 16 * 1024;
// Request body bytes kept for a retry (as Http1Session); a longer body cannot be re-sent.
constexpr std::size_t kReplayLimit = 64 * 1024;
// Request body buffered in the connection above which the client is not read.
constexpr std::size_t kBodyHighWater = 256 * 1024;
// A response that ended while the client was still sending: how long to wait for the read in
// flight before closing.
constexpr auto kLinger = std::chrono::seconds(2);

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& ch : out)
    if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
  return out;
}

std::string_view view(const boost::beast::flat_buffer& b) {
  auto d = b.data();
  return {static_cast<const char*>(d.data()), d.size()};
}

bool hasToken(std::string_view v, std::string_view token) {
  while (!v.empty()) {
    auto comma = v.find(',');
    auto tok = v.substr(0, comma);
    while (!tok.empty() && (tok.front() == ' ' || tok.front() == '\t')) tok.remove_prefix(1);
    while (!tok.empty() && (tok.back() == ' ' || tok.back() == '\t')) tok.remove_suffix(1);
    if (iequals(tok, token)) return true;
    if (comma == std::string_view::npos) break;
    v.remove_prefix(comma + 1);
  }
  return false;
}

// Fields an HTTP/2 message must not carry (RFC 9113 8.2.2) or that become pseudo-headers.
bool dropForH2(const HeaderField& f) {
  return isHopByHop(f) || f.id == http::field::host || iequals(f.name, "x-forwarded-proto");
}

}  // namespace

H2Headers H2ClientExchange::requestHeaders(const ParseEvents& request, std::string_view scheme,
                                           std::string_view client_ip, std::string_view proto,
                                           std::string_view default_authority) {
  H2Headers h;
  h.reserve(request.fields.size() + 6);
  std::string_view path = request.target;
  std::string_view authority = findField(request.fields, http::field::host).value_or("");
  // An absolute-form target ("http://host/path") carries the authority itself.
  for (std::string_view prefix : {"http://", "https://"}) {
    if (path.size() > prefix.size() && iequals(path.substr(0, prefix.size()), prefix)) {
      path.remove_prefix(prefix.size());
      const auto slash = path.find('/');
      authority = path.substr(0, slash);
      path = slash == std::string_view::npos ? std::string_view("/") : path.substr(slash);
    }
  }
  if (authority.empty()) authority = default_authority;
  h.push_back({":method", std::string(request.method_text)});
  h.push_back({":scheme", std::string(scheme)});
  h.push_back({":authority", std::string(authority)});
  h.push_back({":path", std::string(path)});
  std::optional<std::string_view> xff;
  bool te_trailers = false;
  for (const auto& f : request.fields) {
    if (f.id == http::field::te) te_trailers = te_trailers || hasToken(f.value, "trailers");
    if (dropForH2(f) || listedInConnection(request.fields, f.name)) continue;
    if (iequals(f.name, "x-forwarded-for")) {
      if (!xff) xff = f.value;
      continue;
    }
    h.push_back({lower(f.name), std::string(f.value)});
  }
  // gRPC needs to know that trailers are understood; HTTP/2 allows te with that value only.
  if (te_trailers) h.push_back({"te", "trailers"});
  std::string forwarded;
  if (xff && !xff->empty()) {
    forwarded.append(*xff);
    forwarded.append(", ");
  }
  forwarded.append(client_ip);
  h.push_back({"x-forwarded-for", std::move(forwarded)});
  h.push_back({"x-forwarded-proto", std::string(proto)});
  return h;
}

H2ClientExchange::H2ClientExchange(Worker& worker, ClusterRuntime& cluster, Client client,
                                   Request request, DoneFn done)
    : worker_(worker),
      cluster_(cluster),
      client_(std::move(client)),
      request_(std::move(request)),
      done_(std::move(done)) {}

H2ClientExchange::~H2ClientExchange() { dropStream(); }

std::string H2ClientExchange::where() const {
  return host_ ? "instance " + host_->endpoint().id + " of cluster \"" + cluster_.name() + "\""
               : "cluster \"" + cluster_.name() + "\"";
}

void H2ClientExchange::start() {
  const auto now = worker_.time().now();
  request_deadline_ = now + std::chrono::milliseconds(cluster_.config().request_timeout_ms);
  deadline_ = request_deadline_;
  cluster_.retryBudget().onRequest(now);
  request_done_ = !request_.has_body;
  pickAndSubmit();
}

void H2ClientExchange::pickAndSubmit() {
  releaseLoad();
  host_ = cluster_.pick(request_.hash_key, excluded_);
  if (!host_)
    return finishError(503, "no-healthy-instance",
                       "no instance of cluster \"" + cluster_.name() + "\" is available");
  ++host_->load.in_flight;
  load_counted_ = true;
  picked_at_ = worker_.time().now();
  if (!host_->h2) host_->h2 = std::make_unique<H2ClientPool>(worker_.context(), *host_);
  H2ClientConnection::Options options;
  options.connect_timeout_ms = cluster_.config().connect_timeout_ms;
  conn_ = host_->h2->acquire(options);
  if (conn_) stream_id_ = conn_->submit(request_.headers, request_.has_body, this);
  if (!conn_ || stream_id_ == 0) {
    conn_.reset();
    stream_id_ = 0;
    return finishError(503, "connection-limit",
                       where() + " is at max_connections_per_instance with every stream in use");
  }
  ++host_->stats.in_flight;
  counted_in_flight_ = true;
  if (!request_.has_body) return armTryDeadline();
  if (!replay_.empty()) conn_->sendData(stream_id_, replay_);
  if (request_done_) {
    conn_->endBody(stream_id_, request_trailers_);
    return armTryDeadline();
  }
  pumpRequest();
}

void H2ClientExchange::armTryDeadline() {
  // The per-try timeout starts once the request is sent: a slow upload is not the instance's.
  const uint32_t per_try = cluster_.config().retries.per_try_timeout_ms;
  if (per_try > 0 && !response_started_)
    deadline_ =
        std::min(request_deadline_, worker_.time().now() + std::chrono::milliseconds(per_try));
}

void H2ClientExchange::releaseLoad() {
  if (load_counted_ && host_) --host_->load.in_flight;
  load_counted_ = false;
}

void H2ClientExchange::dropStream() {
  releaseLoad();
  if (counted_in_flight_ && host_) --host_->stats.in_flight;
  counted_in_flight_ = false;
  if (conn_ && stream_id_) {
    // Response bytes queued for the client but not written: their window is given back too.
    conn_->consume(stream_id_, pending_consume_ + writing_consume_);
    conn_->cancel(stream_id_);
  }
  pending_consume_ = writing_consume_ = 0;
  conn_.reset();
  stream_id_ = 0;
}

bool H2ClientExchange::retry(Failure why) {
  if (finished_ || response_started_ || !replay_ok_) return false;
  if (attempts_ >= cluster_.config().retries.attempts) return false;
  const auto& on = cluster_.config().retries.on;
  switch (why) {
    case Failure::kConnect:
      break;
    case Failure::kRefused:
      // The instance processed nothing: any method may go elsewhere.
      if (std::find(on.begin(), on.end(), "refused-stream") == on.end()) return false;
      break;
    case Failure::kReset:
      if (!request_.idempotent || !cluster_.retryOnReset()) return false;
      break;
    case Failure::kTimeout:
      if (!request_.idempotent || !request_done_) return false;
      break;
    case Failure::kStatus:
      break;
  }
  const auto now = worker_.time().now();
  if (now >= request_deadline_) return false;
  // Connect failures and refused streams reached no instance's work: they cost the instances
  // nothing (a GOAWAY is how an HTTP/2 server drains for a deploy), so they spend no budget.
  const bool free = why == Failure::kConnect || why == Failure::kRefused;
  if (!free && !cluster_.retryBudget().tryRetry(now)) return false;
  excluded_ = host_.get();
  dropStream();
  ++attempts_;
  ++cluster_.retries;
  deadline_ = request_deadline_;
  pickAndSubmit();
  return true;
}

// ---------------------------------------------------------------------------------------------
// Request body: client -> stream.

void H2ClientExchange::pumpRequest() {
  // sendData() below may call back into onH2BodyWritable(): this loop carries on by itself, and a
  // nested pass would feed the same input twice.
  if (pumping_) return;
  pumping_ = true;
  pumpRequestLoop();
  pumping_ = false;
}

void H2ClientExchange::pumpRequestLoop() {
  while (!finished_ && !request_done_ && conn_ && stream_id_) {
    if (conn_->bufferedBody(stream_id_) >= kBodyHighWater) return;  // onH2BodyWritable
    if (client_.in.size() == 0) return readClient();
    error_code ec;
    const std::size_t used = client_.parser.feed(view(client_.in), ec);
    if (ec && ec != http::error::need_more) {
      // The client's framing broke mid-body: nothing sensible can follow on this connection.
      if (!response_started_) {
        Outcome o;
        o.kind = Outcome::Kind::kError;
        o.status = ec == http::error::body_limit ? 413 : 400;
        o.cause = ec == http::error::body_limit ? "request-body-too-large" : "bad-request";
        o.detail = "bad request body: " + ec.message();
        o.keep_alive = false;
        return finish(std::move(o));
      }
      Outcome o;
      o.kind = Outcome::Kind::kAbort;
      return finish(std::move(o));
    }
    for (auto piece : client_.events.body) {
      conn_->sendData(stream_id_, piece);
      if (replay_ok_) {
        if (replay_.size() + piece.size() > kReplayLimit) {
          replay_ok_ = false;
          replay_.clear();
        } else {
          replay_.append(piece);
        }
      }
    }
    if (client_.parser.is_done()) {
      request_done_ = true;
      for (const auto& t : client_.events.trailers)
        request_trailers_.push_back({lower(t.name), std::string(t.value)});
      client_.in.consume(used);
      conn_->endBody(stream_id_, request_trailers_);
      return armTryDeadline();
    }
    client_.in.consume(used);
    if (used == 0) return readClient();  // half a chunk header: more bytes needed
  }
}

void H2ClientExchange::readClient() {
  if (reading_) return;
  reading_ = true;
  client_.socket.async_read_some(
      client_.in.prepare(kReadSize),
      [self = shared_from_this(), owner = client_.owner](error_code ec, std::size_t n) {
        self->reading_ = false;
        if (self->after_read_) {
          // The response is out; these bytes (or this error) are the session's business now.
          if (!ec) self->client_.in.commit(n);
          auto o = std::move(*self->after_read_);
          self->after_read_.reset();
          if (ec) o.kind = Outcome::Kind::kAbort;
          return self->finish(std::move(o));
        }
        if (self->finished_) return;
        if (ec) {
          Outcome o;
          o.kind = Outcome::Kind::kAbort;
          o.status = self->final_status_;
          return self->finish(std::move(o));
        }
        self->client_.in.commit(n);
        self->pumpRequest();
      });
}

void H2ClientExchange::onH2BodyWritable() { pumpRequest(); }

// ---------------------------------------------------------------------------------------------
// Response: stream -> client.

void H2ClientExchange::onH2Head(unsigned status, const H2Headers& headers, bool end_stream) {
  auto self = shared_from_this();
  ParseEvents resp;
  resp.status = status;
  resp.fields.reserve(headers.size());
  for (const auto& h : headers) {
    resp.fields.push_back(HeaderField{http::string_to_field(h.name), h.name, h.value});
    if (h.name == "content-length") {
      uint64_t n = 0;
      auto [p, ec] = std::from_chars(h.value.data(), h.value.data() + h.value.size(), n);
      if (ec == std::errc()) resp.content_length = n;
    }
  }
  if (status < 200) {
    // 100 Continue and friends go to an HTTP/1.1 client as they are; the real answer follows.
    if (status == 101 || request_.client_version < 11) return;
    writeDownstreamResponseHead(out_, resp, {}, ResponseFraming::kNone, true,
                                request_.client_version);
    return writeOut();
  }
  if (status >= 500)
    cluster_.recordFailure(*host_);
  else
    cluster_.recordSuccess(*host_);
  if (cluster_.retryOnStatus(status)) {
    auto host = host_;
    if (retry(Failure::kStatus)) {
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
  const ResponseFraming framing =
      chooseResponseFraming(resp, request_.head_request, request_.client_version);
  switch (framing) {
    case ResponseFraming::kNone:
      framing_ = Framing::kNone;
      break;
    case ResponseFraming::kContentLength:
      framing_ = Framing::kContentLength;
      break;
    case ResponseFraming::kChunked:
      framing_ = Framing::kChunked;
      break;
    case ResponseFraming::kClose:
      framing_ = Framing::kClose;
      break;
  }
  if (framing_ == Framing::kClose || worker_.draining()) request_.keep_alive = false;
  writeDownstreamResponseHead(out_, resp, {}, framing, request_.keep_alive,
                              request_.client_version);
  response_started_ = true;
  deadline_ = now + std::chrono::milliseconds(cluster_.config().idle_timeout_ms);
  (void)end_stream;  // onH2End follows
  writeOut();
}

void H2ClientExchange::onH2Data(std::string_view data) {
  if (framing_ == Framing::kNone || !response_started_) {
    // No body may go to the client (HEAD, 204, 304): the bytes are dropped.
    if (conn_) conn_->consume(stream_id_, data.size());
    return;
  }
  if (framing_ == Framing::kChunked) {
    appendChunkHeader(out_, data.size());
    out_.append(data);
    out_.append(kCrlf);
  } else {
    out_.append(data);
  }
  pending_consume_ += data.size();
  deadline_ = worker_.time().now() + std::chrono::milliseconds(cluster_.config().idle_timeout_ms);
  writeOut();
}

void H2ClientExchange::onH2Trailers(const H2Headers& trailers) { response_trailers_ = trailers; }

void H2ClientExchange::onH2End() {
  auto self = shared_from_this();
  if (!response_started_) {
    // Only interim heads came: a broken answer.
    return onH2Fail(H2Failure::kReset, 0, "the stream ended without a final response");
  }
  response_done_ = true;
  if (framing_ == Framing::kChunked) {
    out_.append("0\r\n");
    for (const auto& t : response_trailers_) {
      out_.append(t.name);
      out_.append(": ");
      out_.append(t.value);
      out_.append(kCrlf);
    }
    out_.append(kCrlf);
  }
  host_->stats.responses.add(final_status_);
  host_->stats.latency.observeMicros(static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(worker_.time().now() - picked_at_)
          .count()));
  releaseLoad();
  if (counted_in_flight_) --host_->stats.in_flight;
  counted_in_flight_ = false;
  writeOut();
}

void H2ClientExchange::onH2Fail(H2Failure failure, uint32_t, std::string_view detail) {
  auto self = shared_from_this();
  if (finished_) return;
  // The stream is gone already: nothing to cancel.
  stream_id_ = 0;
  if (response_started_) {
    // Truncated: what arrived still goes out, then the client sees the connection close.
    upstream_failed_ = true;
    dropStream();
    return writeOut();
  }
  Failure why = Failure::kReset;
  switch (failure) {
    case H2Failure::kConnect:
      why = Failure::kConnect;
      cluster_.recordFailure(*host_);
      break;
    case H2Failure::kRefused:
      why = Failure::kRefused;
      break;
    case H2Failure::kReset:
    case H2Failure::kLost:
      cluster_.recordFailure(*host_);
      break;
  }
  const std::string message = where() + ": " + std::string(detail);
  if (retry(why)) return;
  switch (why) {
    case Failure::kConnect:
      return finishError(502, "connect-failure", message);
    case Failure::kRefused:
      return finishError(502, "refused-stream", message);
    default:
      return finishError(502, "upstream-reset", message);
  }
}

void H2ClientExchange::writeOut() {
  if (finished_ || writing_) return;
  if (out_.empty()) {
    if (upstream_failed_) {
      Outcome o;
      o.kind = Outcome::Kind::kAbort;
      o.status = final_status_;
      return finish(std::move(o));
    }
    if (response_done_) {
      Outcome o;
      o.kind = Outcome::Kind::kDone;
      o.status = final_status_;
      // A client still sending its body cannot send another request on this connection.
      o.keep_alive = request_.keep_alive && request_done_;
      o.bytes_sent = bytes_sent_;
      finish(std::move(o));
    }
    return;
  }
  std::swap(out_, wbuf_);
  out_.clear();
  writing_consume_ = pending_consume_;
  pending_consume_ = 0;
  writing_ = true;
  asio::async_write(
      client_.socket, asio::buffer(wbuf_),
      [self = shared_from_this(), owner = client_.owner](error_code ec, std::size_t n) {
        self->writing_ = false;
        if (self->finished_) return;
        self->bytes_sent_ += n;
        if (ec) {
          Outcome o;
          o.kind = Outcome::Kind::kAbort;
          o.status = self->final_status_;
          o.bytes_sent = self->bytes_sent_;
          return self->finish(std::move(o));
        }
        const std::size_t written = self->writing_consume_;
        self->writing_consume_ = 0;
        if (self->conn_ && written) self->conn_->consume(self->stream_id_, written);
        self->writeOut();
      });
}

void H2ClientExchange::finishError(unsigned status, std::string cause, std::string detail) {
  Outcome o;
  o.kind = Outcome::Kind::kError;
  o.status = status;
  o.cause = std::move(cause);
  o.detail = std::move(detail);
  finish(std::move(o));
}

void H2ClientExchange::finish(Outcome outcome) {
  if (finished_) return;
  if (reading_) {
    // A client read is in flight: the session may not read until it completes.
    if (outcome.kind != Outcome::Kind::kAbort) {
      after_read_ = std::move(outcome);
      deadline_ = worker_.time().now() + kLinger;
      dropStream();
      return;
    }
  }
  finished_ = true;
  auto self = shared_from_this();
  dropStream();
  outcome.host = host_;
  if (outcome.bytes_sent == 0) outcome.bytes_sent = bytes_sent_;
  auto owner = std::move(client_.owner);  // let go once done has run
  if (auto done = std::move(done_)) done(std::move(outcome));
}

void H2ClientExchange::checkDeadline(TimePoint now) {
  if (finished_) return;
  if (after_read_) {
    if (now < deadline_) return;
    after_read_.reset();
    Outcome o;
    o.kind = Outcome::Kind::kAbort;
    o.status = final_status_;
    return finish(std::move(o));
  }
  // A departed instance's requests in flight may finish within drain_timeout_ms, no longer.
  if (host_ && stream_id_ && host_->departed() && now >= host_->drain_deadline) {
    if (response_started_) {
      Outcome o;
      o.kind = Outcome::Kind::kAbort;
      o.status = final_status_;
      return finish(std::move(o));
    }
    return finishError(504, "drain-timeout",
                       where() + " left its set and did not answer within drain_timeout_ms");
  }
  if (now < deadline_) return;
  deadline_ = TimePoint::max();
  if (response_started_) {
    Outcome o;
    o.kind = Outcome::Kind::kAbort;
    o.status = final_status_;
    return finish(std::move(o));
  }
  if (host_) cluster_.recordFailure(*host_);
  if (now < request_deadline_ && retry(Failure::kTimeout)) return;
  finishError(504, "upstream-timeout", where() + " did not answer in time");
}

void H2ClientExchange::abort() {
  finished_ = true;
  after_read_.reset();
  done_ = nullptr;
  dropStream();
  auto owner = std::move(client_.owner);
}

}  // namespace switchyard::proxy
