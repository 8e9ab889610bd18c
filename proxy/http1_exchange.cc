#include "proxy/http1_exchange.h"

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/string.hpp>
#include <charconv>

#include "proxy/worker.h"

namespace switchyard::proxy {

namespace asio = boost::asio;
using boost::beast::iequals;
using boost::system::error_code;

namespace {

constexpr std::size_t kReadSize = 16 * 1024;
// Request body read from the client ahead of what the upstream has taken.
constexpr uint64_t kBodyAhead = 256 * 1024;
// Response bytes queued for the client above which the upstream is paused.
constexpr std::size_t kOutHighWater = 256 * 1024;
// Output buffer capacity kept from one request of a connection to the next.
constexpr std::size_t kKeepCapacity = 16 * 1024;
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

}  // namespace

RequestHead Http1Exchange::requestHead(const ParseEvents& request, bool upgrade,
                                       std::string_view scheme, std::string_view client_ip,
                                       std::string_view default_authority) {
  RequestHead h;
  h.method = std::string(request.method_text);
  h.scheme = std::string(scheme);
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
  h.authority = std::string(authority.empty() ? default_authority : authority);
  h.path = std::string(path);
  h.fields.reserve(request.fields.size());
  for (const auto& f : request.fields) {
    // te is hop-by-hop in HTTP/1.1, but "te: trailers" is what gRPC needs the instance to see.
    if (f.id != http::field::te && isHopByHop(f)) continue;
    if (f.id == http::field::host) continue;
    if (listedInConnection(request.fields, f.name)) continue;
    h.fields.emplace_back(lower(f.name), std::string(f.value));
  }
  if (upgrade)
    h.upgrade = std::string(findField(request.fields, http::field::upgrade).value_or(""));
  h.content_length = request.chunked ? std::nullopt : request.content_length;
  h.has_body = request.chunked || request.content_length.value_or(0) > 0;
  h.client_ip = std::string(client_ip);
  h.version = request.version;
  return h;
}

Http1Exchange::Http1Exchange(Worker& worker, uint32_t listener_index, Client client, DoneFn done)
    : worker_(worker), listener_index_(listener_index), client_(client), done_(std::move(done)) {}

Http1Exchange::~Http1Exchange() {
  if (upstream_) upstream_->cancel();
  if (tunnel_.conn) tunnel_.host->discard(std::move(tunnel_.conn));
}

void Http1Exchange::start(RequestHead head, Request request) {
  auto self = shared_from_this();
  ++gen_;
  request_ = std::move(request);
  finished_ = false;
  request_done_ = !head.has_body;
  pumping_ = false;
  ahead_ = 0;
  after_read_.reset();
  linger_deadline_ = TimePoint::max();
  framing_ = ResponseFraming::kNone;
  upstream_ended_ = upstream_reset_ = paused_ = head_written_ = upgraded_ = false;
  write_scheduled_ = false;
  keep_alive_ = request_.keep_alive;
  trailers_.clear();
  out_.clear();
  upstream_ = std::make_shared<UpstreamRequest>(worker_, listener_index_, *this);
  upstream_->start(std::move(head));  // may answer at once (no route, no instance)
  if (finished_ || after_read_) return;
  writeOut();
  pumpRequest();
}

// ---------------------------------------------------------------------------------------------
// Request body: client -> upstream.

void Http1Exchange::pumpRequest() {
  // pushBody() may call back into onRequestBodyConsumed(): this loop carries on by itself, and a
  // nested pass would feed the same input twice.
  if (pumping_) return;
  pumping_ = true;
  pumpRequestLoop();
  pumping_ = false;
}

void Http1Exchange::pumpRequestLoop() {
  RequestParser& parser = *request_.parser;
  while (!finished_ && !request_done_ && !upstream_ended_) {
    if (ahead_ >= kBodyAhead) return;  // onRequestBodyConsumed resumes
    if (client_.in.size() == 0) return readClient();
    error_code ec;
    const std::size_t used = parser.feed(view(client_.in), ec);
    if (ec && ec != http::error::need_more) return badRequestBody(ec);
    for (auto piece : client_.events.body) {
      ahead_ += piece.size();
      upstream_->pushBody(piece);
      if (finished_) return;
    }
    if (parser.is_done()) {
      request_done_ = true;
      request_trailers_.clear();
      for (const auto& t : client_.events.trailers)
        request_trailers_.emplace_back(lower(t.name), std::string(t.value));
      client_.in.consume(used);
      return upstream_->endBody(std::move(request_trailers_));
    }
    client_.in.consume(used);
    if (used == 0) return readClient();  // half a chunk header: more bytes needed
  }
}

void Http1Exchange::badRequestBody(error_code ec) {
  // The client's framing broke mid-body: nothing sensible can follow on this connection.
  upstream_->cancel();
  keep_alive_ = false;
  if (head_written_ || writing_ || !out_.empty()) return finish(Outcome::aborted());
  const bool too_large = ec == http::error::body_limit;
  error_detail_ = "bad request body: " + ec.message();
  Outcome o;
  o.keep_alive = false;
  o.request_error = too_large ? 413 : 400;
  o.error_detail = error_detail_;
  finish(o);
}

void Http1Exchange::onRequestBodyConsumed(std::size_t n) {
  ahead_ -= std::min<uint64_t>(n, ahead_);
  if (!reading_) pumpRequest();
}

void Http1Exchange::readClient() {
  if (reading_) return;
  reading_ = true;
  client_.socket.async_read_some(
      client_.in.prepare(kReadSize), [self = shared_from_this(), owner = request_.owner,
                                      gen = gen_](error_code ec, std::size_t n) {
        if (gen != self->gen_) return;
        self->reading_ = false;
        if (self->after_read_) {
          // The response is out; these bytes are the session's business now.
          if (!ec) self->client_.in.commit(n);
          auto o = *self->after_read_;
          self->after_read_.reset();
          if (ec) o.abort = true;
          return self->finish(o);
        }
        if (self->finished_) return;
        if (ec) return self->finish(Outcome::aborted());  // the client went away
        self->client_.in.commit(n);
        self->pumpRequest();
      });
}

// ---------------------------------------------------------------------------------------------
// Response: upstream -> client.

void Http1Exchange::onResponseHead(unsigned status, const std::vector<HeaderField>& fields) {
  resp_.reset();
  resp_.status = status;
  resp_.fields.assign(fields.begin(), fields.end());
  if (auto cl = findField(fields, http::field::content_length)) {
    uint64_t n = 0;
    auto [p, ec] = std::from_chars(cl->data(), cl->data() + cl->size(), n);
    if (ec == std::errc() && p == cl->data() + cl->size()) resp_.content_length = n;
  }
  framing_ = chooseResponseFraming(resp_, request_.head_request, request_.client_version);
  if (framing_ == ResponseFraming::kClose || worker_.draining()) keep_alive_ = false;
  writeDownstreamResponseHead(out_, resp_, {}, framing_, keep_alive_, request_.client_version);
  head_written_ = true;
  scheduleWrite();
}

void Http1Exchange::onInterimHead(unsigned status, const std::vector<HeaderField>& fields) {
  if (request_.client_version < 11) return;  // HTTP/1.0 knows no 1xx
  resp_.reset();
  resp_.status = status;
  resp_.fields.assign(fields.begin(), fields.end());
  writeDownstreamResponseHead(out_, resp_, {}, ResponseFraming::kNone, true,
                              request_.client_version);
  scheduleWrite();
}

void Http1Exchange::onUpgrade(const std::vector<HeaderField>& fields, UpstreamTunnel tunnel) {
  resp_.reset();
  resp_.status = 101;
  resp_.fields.assign(fields.begin(), fields.end());
  writeDownstreamResponseHead(out_, resp_, {}, ResponseFraming::kNone, true,
                              request_.client_version);
  head_written_ = true;
  tunnel_ = std::move(tunnel);
  upgraded_ = true;
  upstream_ended_ = true;
  scheduleWrite();
}

bool Http1Exchange::onResponseData(std::string_view data) {
  if (framing_ == ResponseFraming::kNone) return true;  // HEAD, 204, 304: no body goes out
  if (framing_ == ResponseFraming::kChunked) {
    appendChunkHeader(out_, data.size());
    out_.append(data);
    out_.append(kCrlf);
  } else {
    out_.append(data);
  }
  scheduleWrite();
  if (out_.size() < kOutHighWater) return true;
  paused_ = true;  // resumed once the client has taken what is queued
  return false;
}

void Http1Exchange::onResponseTrailers(const std::vector<HeaderField>& trailers) {
  for (const auto& t : trailers) trailers_.emplace_back(std::string(t.name), std::string(t.value));
}

void Http1Exchange::onResponseEnd() {
  if (framing_ == ResponseFraming::kChunked) {
    out_.append("0\r\n");
    for (const auto& [name, value] : trailers_) {
      out_.append(name);
      out_.append(": ");
      out_.append(value);
      out_.append(kCrlf);
    }
    out_.append(kCrlf);
  }
  upstream_ended_ = true;
  scheduleWrite();
}

void Http1Exchange::onGatewayError(unsigned status, std::string_view cause,
                                   std::string_view detail) {
  // The connection carries another request only when this one was read to its end.
  keep_alive_ = keep_alive_ && request_done_ && !worker_.draining();
  writeErrorResponse(out_, status, cause, detail, keep_alive_, request_.head_request);
  head_written_ = true;
  upstream_ended_ = true;
  scheduleWrite();
}

void Http1Exchange::onResponseReset(std::string_view) {
  // Truncated: what arrived still goes out, then the client sees the connection close.
  upstream_reset_ = true;
  scheduleWrite();
}

void Http1Exchange::scheduleWrite() {
  // The exchange calls the sink several times in one pass (head, body pieces, end): what they
  // queue goes out in one write once the pass is over, not a write (and a packet) per call.
  if (write_scheduled_ || writing_ || finished_) return;
  write_scheduled_ = true;
  asio::post(client_.socket.get_executor(),
             [self = shared_from_this(), owner = request_.owner, gen = gen_] {
               if (gen != self->gen_) return;
               self->write_scheduled_ = false;
               self->writeOut();
             });
}

void Http1Exchange::writeOut() {
  if (finished_ || writing_) return;
  if (out_.empty()) {
    if (upstream_reset_) return finish(Outcome::aborted());
    // A client still sending its body cannot send another request on this connection.
    if (upstream_ended_) {
      Outcome o;
      o.keep_alive = keep_alive_ && request_done_;
      o.upgraded = upgraded_;
      finish(o);
    }
    return;
  }
  std::swap(out_, wbuf_);
  out_.clear();
  writing_ = true;
  const uint32_t idle_ms =
      worker_.snapshot().config->listeners[listener_index_].limits.idle_timeout_ms;
  write_deadline_ =
      idle_ms ? worker_.time().now() + std::chrono::milliseconds(idle_ms) : TimePoint::max();
  client_.socket.asyncWrite(asio::buffer(wbuf_), [self = shared_from_this(), owner = request_.owner,
                                                  gen = gen_](error_code ec, std::size_t) {
    if (gen != self->gen_) return;
    self->writing_ = false;
    if (self->finished_) return;
    if (ec) return self->finish(Outcome::aborted());
    if (self->paused_ && self->out_.size() < kOutHighWater) {
      self->paused_ = false;
      self->upstream_->resumeResponse();
      if (self->finished_) return;
    }
    self->writeOut();
  });
}

void Http1Exchange::finish(Outcome outcome) {
  if (finished_) return;
  if (reading_ && !outcome.abort) {
    // A client read is in flight: the session may not read until it completes.
    after_read_ = outcome;
    linger_deadline_ = worker_.time().now() + kLinger;
    return;
  }
  finished_ = true;
  auto self = shared_from_this();
  if (upstream_) std::exchange(upstream_, nullptr)->cancel();  // nothing when it ended already
  // The buffers serve the connection's next request; a large response's do not stay.
  if (!writing_)
    for (std::string* b : {&out_, &wbuf_})
      if (b->capacity() > kKeepCapacity) std::string().swap(*b);
  auto owner = std::move(request_.owner);  // let go once done has run
  if (done_) done_(outcome);
}

void Http1Exchange::checkDeadline(TimePoint now) {
  if (finished_) return;
  if (after_read_) {
    if (now < linger_deadline_) return;
    after_read_.reset();
    return finish(Outcome::aborted());
  }
  // The upstream side is done and the client does not take the rest.
  if ((upstream_ended_ || upstream_reset_) && writing_ && now >= write_deadline_)
    return finish(Outcome::aborted());
  auto self = shared_from_this();
  if (upstream_) upstream_->checkDeadline(now);
}

void Http1Exchange::abort() {
  finished_ = true;
  ++gen_;  // handlers still pending stop
  after_read_.reset();
  if (upstream_) std::exchange(upstream_, nullptr)->cancel();
  if (tunnel_.conn) tunnel_.host->discard(std::move(tunnel_.conn));
  auto owner = std::move(request_.owner);
}

}  // namespace switchyard::proxy
