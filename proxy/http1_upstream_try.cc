#include "proxy/http1_upstream_try.h"

#include <algorithm>
#include <boost/asio/write.hpp>
#include <limits>

#include "proxy/cluster_runtime.h"
#include "proxy/http1_head_writer.h"
#include "proxy/upstream_host.h"
#include "proxy/upstream_request.h"
#include "proxy/worker.h"

namespace switchyard::proxy {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

constexpr std::size_t kReadSize = 16 * 1024;
constexpr uint32_t kResponseHeaderLimit = 64 * 1024;
constexpr uint64_t kNoBodyLimit = std::numeric_limits<uint64_t>::max();
// Room for a typical head's fields, so that a request's vectors grow once at most.
constexpr std::size_t kFieldsReserve = 16;
// The request head's bytes beyond the client's fields: request line, X-Forwarded-*, framing.
constexpr std::size_t kHeadReserve = 160;

std::string_view view(const boost::beast::flat_buffer& b) {
  auto d = b.data();
  return {static_cast<const char*>(d.data()), d.size()};
}

void appendLastChunk(std::string& out, const RequestTrailers& trailers) {
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
  ParseEvents scratch;
  return writeHttp1RequestHead(out, head, scratch);
}

bool writeHttp1RequestHead(std::string& out, const RequestHead& head, ParseEvents& req) {
  // Through the same writer Http1Session uses: hop-by-hop fields (te, connection...) dropped,
  // X-Forwarded-*, chunked when the length is unknown.
  req.reset();
  req.method_text = head.method;
  req.target = head.path;
  req.chunked = head.has_body && !head.content_length;
  req.fields.reserve(std::max(head.fields.size() + 2, kFieldsReserve));
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

Http1UpstreamTry::Http1UpstreamTry(Worker& worker, UpstreamTryEvents& events)
    : worker_(worker), events_(events) {}

Http1UpstreamTry::~Http1UpstreamTry() { abandon(); }

void Http1UpstreamTry::prepare(const RequestHead& head, ClusterRuntime& cluster) {
  cluster_ = &cluster;
  up_head_.clear();
  std::size_t size = kHeadReserve + head.method.size() + head.path.size() + head.authority.size();
  for (const auto& [n, v] : head.fields) size += n.size() + v.size() + 4;
  up_head_.reserve(size);
  // The response's field list serves as the scratch: its capacity is there for the answer.
  chunked_ = writeHttp1RequestHead(up_head_, head, resp_);
  has_body_ = head.has_body;
  head_request_ = head.method == "HEAD";
  upgrade_ = !head.upgrade.empty();
}

TryStart Http1UpstreamTry::start(UpstreamHost& host) {
  abandon();
  host_ = &host;
  pending_.clear();
  body_ended_ = !has_body_;
  head_sent_ = false;
  tail_sent_ = false;
  headed_ = false;
  paused_ = false;
  upstream_eof_ = false;
  if (auto idle = host.takeIdle()) {
    up_ = std::move(idle);
    state_ = State::kConnecting;
    onConnected(error_code(), gen_);
    return TryStart::kStarted;
  }
  if (host.atConnectionLimit()) return TryStart::kConnectionLimit;
  up_ = UpstreamConnection::open(worker_.context(), worker_.tls(), cluster_->config(),
                                 host.endpoint());
  if (!up_) return TryStart::kTlsNotLoaded;
  host.connectionOpened();
  state_ = State::kConnecting;
  connect_deadline_ =
      Clock::now() + std::chrono::milliseconds(cluster_->config().connect_timeout_ms);
  up_->stream.asyncConnect(host.endpoint().address, [keep = events_.keepAlive(), this, gen = gen_](
                                                        error_code ec) { onConnected(ec, gen); });
  return TryStart::kStarted;
}

void Http1UpstreamTry::sendBody(std::string_view data) {
  if (state_ == State::kIdle || body_ended_) return;
  pending_.append(data);
  if (state_ == State::kOpen && !writing_) writeRequest();
}

void Http1UpstreamTry::endBody(const RequestTrailers& trailers) {
  if (state_ == State::kIdle || body_ended_) return;
  body_ended_ = true;
  trailers_ = &trailers;
  if (state_ == State::kOpen && !writing_) writeRequest();
}

void Http1UpstreamTry::resume() {
  if (state_ != State::kOpen || !paused_) return;
  paused_ = false;
  // Held back at the last piece, the response may be complete already.
  if (up_->in.size() > 0 || resp_parser_->is_done()) return relayResponse();
  readResponse();
}

void Http1UpstreamTry::tick(TimePoint now) {
  if (state_ != State::kConnecting || now < connect_deadline_) return;
  ++host_->stats.connect_failures;
  fail(TryError::kConnect, false,
       "connect failed: " + error_code(asio::error::timed_out).message());
}

void Http1UpstreamTry::abandon() {
  ++gen_;  // handlers of the dropped connection see a stale generation
  state_ = State::kIdle;
  reading_ = false;
  writing_ = false;
  connect_deadline_ = TimePoint::max();
  if (up_) host_->discard(std::move(up_));
}

void Http1UpstreamTry::fail(TryError kind, bool processed, const std::string& detail) {
  const bool stale = processed && up_ && up_->reused;
  abandon();
  events_.onTryFailed(TryFault{kind, processed, stale, detail});
}

void Http1UpstreamTry::lost(error_code ec) {
  fail(TryError::kLost, true, "closed the connection: " + ec.message());
}

void Http1UpstreamTry::onConnected(error_code ec, uint64_t gen) {
  if (gen != gen_ || state_ != State::kConnecting) return;
  connect_deadline_ = TimePoint::max();
  if (ec) {
    ++host_->stats.connect_failures;
    // A TLS failure (verification, protocol) is a connect failure that says why.
    if (up_->stream.handshakeStarted())
      return fail(TryError::kTls, false, "TLS handshake failed: " + up_->stream.describeError(ec));
    return fail(TryError::kConnect, false, "connect failed: " + ec.message());
  }
  if (!up_->reused) tuneUpstreamSocket(up_->stream.socket());
  state_ = State::kOpen;
  resetParser();
  events_.onTryConnected();
  if (gen != gen_) return;
  writeRequest();
  readResponse();
}

void Http1UpstreamTry::writeRequest() {
  if (writing_ || !up_ || tail_sent_) return;
  nbufs_ = 0;
  writing_body_.clear();
  framing_.clear();
  tail_.clear();
  write_has_tail_ = false;
  if (!head_sent_) bufs_[nbufs_++] = asio::buffer(up_head_);
  if (!pending_.empty()) {
    writing_body_.swap(pending_);
    if (chunked_) {
      appendChunkHeader(framing_, writing_body_.size());
      bufs_[nbufs_++] = asio::buffer(framing_);
    }
    bufs_[nbufs_++] = asio::buffer(writing_body_);
    if (chunked_) tail_.append(kCrlf);
  }
  if (body_ended_) {
    write_has_tail_ = true;
    if (chunked_) appendLastChunk(tail_, trailers_ ? *trailers_ : RequestTrailers{});
  }
  if (!tail_.empty()) bufs_[nbufs_++] = asio::buffer(tail_);
  if (nbufs_ == 0) {
    if (write_has_tail_) onRequestSent();
    return;
  }
  for (std::size_t i = nbufs_; i < bufs_.size(); ++i) bufs_[i] = asio::const_buffer();
  writing_ = true;
  up_->stream.asyncWrite(bufs_, [keep = events_.keepAlive(), this, gen = gen_](
                                    error_code ec, std::size_t) { onRequestWritten(ec, gen); });
}

void Http1UpstreamTry::onRequestWritten(error_code ec, uint64_t gen) {
  if (gen != gen_) return;
  writing_ = false;
  if (ec) return lost(ec);
  head_sent_ = true;
  if (const std::size_t n = writing_body_.size()) {
    events_.onTryBodyConsumed(n);
    if (gen != gen_) return;
  }
  if (write_has_tail_) return onRequestSent();
  if (!pending_.empty() || body_ended_) writeRequest();
}

void Http1UpstreamTry::onRequestSent() {
  const uint64_t gen = gen_;
  tail_sent_ = true;
  events_.onTryRequestSent();
  if (gen != gen_) return;
  // The response ended while the last request bytes were on their way.
  if (headed_ && resp_parser_->is_done()) complete();
}

void Http1UpstreamTry::resetParser() {
  resp_.reset();
  resp_.fields.reserve(kFieldsReserve);
  out_fields_.reserve(kFieldsReserve);
  resp_parser_.emplace(resp_);
  resp_parser_->header_limit(kResponseHeaderLimit);
  resp_parser_->body_limit(kNoBodyLimit);
  resp_parser_->eager(true);
  if (head_request_) resp_parser_->skip(true);
}

void Http1UpstreamTry::readResponse() {
  if (reading_ || paused_ || !up_) return;
  reading_ = true;
  up_->stream.async_read_some(up_->in.prepare(kReadSize),
                              [keep = events_.keepAlive(), this, gen = gen_](
                                  error_code ec, std::size_t n) { onResponseRead(ec, n, gen); });
}

void Http1UpstreamTry::onResponseRead(error_code ec, std::size_t n, uint64_t gen) {
  if (gen != gen_) return;
  reading_ = false;
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
  lost(ec);
}

void Http1UpstreamTry::relayResponse() {
  const uint64_t gen = gen_;
  while (!resp_parser_->is_done() && up_->in.size() > 0) {
    error_code ec;
    // With eager parsing a feed may use body bytes and then stop for more (need_more): what it
    // used and found is still relayed.
    const std::size_t used = resp_parser_->feed(view(up_->in), ec);
    const bool need_more = ec == http::error::need_more;
    if (ec && !need_more)
      return fail(TryError::kMalformed, true, "sent a malformed response: " + ec.message());
    if (resp_.header_done && !headed_) {
      if (resp_.status == 101) {
        if (!upgrade_) return fail(TryError::kMalformed, true, "switched protocols unasked");
        return handOverUpgrade(used);
      }
      if (resp_.status < 200) {
        // 100 Continue and friends: the final answer follows.
        endToEnd(resp_.fields, out_fields_);
        events_.onTryInterimHead(resp_.status, out_fields_);
        if (gen != gen_) return;
        up_->in.consume(used);
        resetParser();
        continue;
      }
      headed_ = true;
      endToEnd(resp_.fields, out_fields_);
      events_.onTryHead(resp_.status, out_fields_);
      if (gen != gen_) return;
    }
    for (auto piece : resp_.body) {
      if (!events_.onTryData(piece)) paused_ = true;
      if (gen != gen_) return;
    }
    resp_.body.clear();
    if (resp_parser_->is_done() && !resp_.trailers.empty()) {
      endToEnd(resp_.trailers, out_fields_);
      events_.onTryTrailers(out_fields_);
      if (gen != gen_) return;
    }
    up_->in.consume(used);
    if (paused_) return;  // the exchange's idle deadline now waits for the client to read
    if (need_more) break;
  }
  if (headed_ && resp_parser_->is_done()) {
    // The last request bytes are on their way: the connection may be reused once they are out.
    if (writing_ && body_ended_) return;
    return complete();
  }
  if (upstream_eof_) return lost(asio::error::eof);
  readResponse();
}

void Http1UpstreamTry::handOverUpgrade(std::size_t head_bytes) {
  // flat_buffer keeps the consumed bytes in place: resp_'s views stay valid through the call.
  up_->in.consume(head_bytes);
  auto conn = std::move(up_);
  abandon();  // the request write's handler, should it still be queued, sees a stale generation
  events_.onTryUpgrade(resp_.fields, std::move(conn));
}

void Http1UpstreamTry::complete() {
  // The connection carries another request only when this one went out whole.
  const bool reusable = tail_sent_ && !writing_ && resp_parser_->keep_alive() && !upstream_eof_ &&
                        up_->in.size() == 0;
  host_->release(std::move(up_), reusable, Clock::now());
  abandon();
  events_.onTryEnd();
}

}  // namespace switchyard::proxy
