#include "proxy/h2_client_exchange.h"

#include <boost/asio/write.hpp>
#include <boost/beast/core/string.hpp>
#include <charconv>

#include "proxy/http1_head_writer.h"
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

RequestHead H2ClientExchange::requestHead(const ParseEvents& request, std::string_view scheme,
                                          std::string_view client_ip,
                                          std::string_view default_authority, bool drop_expect) {
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
  for (const auto& f : request.fields) {
    // te is hop-by-hop in HTTP/1.1, but "te: trailers" is what gRPC needs the instance to see.
    if (f.id != http::field::te && isHopByHop(f)) continue;
    if (f.id == http::field::host || (drop_expect && f.id == http::field::expect)) continue;
    if (listedInConnection(request.fields, f.name)) continue;
    h.fields.emplace_back(lower(f.name), std::string(f.value));
  }
  h.content_length = request.chunked ? std::nullopt : request.content_length;
  h.has_body = request.chunked || request.content_length.value_or(0) > 0;
  h.client_ip = std::string(client_ip);
  h.version = request.version;
  return h;
}

H2ClientExchange::H2ClientExchange(Worker& worker, uint32_t listener_index, Client client,
                                   Request request, DoneFn done)
    : worker_(worker),
      listener_index_(listener_index),
      client_(std::move(client)),
      request_(std::move(request)),
      done_(std::move(done)) {}

H2ClientExchange::~H2ClientExchange() {
  if (upstream_) upstream_->cancel();
}

void H2ClientExchange::start() {
  auto self = shared_from_this();
  request_done_ = !request_.head.has_body;
  keep_alive_ = request_.keep_alive;
  if (request_.expect_continue && request_.client_version >= 11 && !request_done_)
    out_.append("HTTP/1.1 100 Continue\r\n\r\n");
  upstream_ = std::make_shared<UpstreamRequest>(worker_, listener_index_, *this);
  upstream_->start(request_.head);  // may answer at once (no route, no instance)
  if (finished_ || after_read_) return;
  writeOut();
  pumpRequest();
}

// ---------------------------------------------------------------------------------------------
// Request body: client -> upstream.

void H2ClientExchange::pumpRequest() {
  // pushBody() may call back into onRequestBodyConsumed(): this loop carries on by itself, and a
  // nested pass would feed the same input twice.
  if (pumping_) return;
  pumping_ = true;
  pumpRequestLoop();
  pumping_ = false;
}

void H2ClientExchange::pumpRequestLoop() {
  while (!finished_ && !request_done_ && !upstream_ended_) {
    if (ahead_ >= kBodyAhead) return;  // onRequestBodyConsumed resumes
    if (client_.in.size() == 0) return readClient();
    error_code ec;
    const std::size_t used = client_.parser.feed(view(client_.in), ec);
    if (ec && ec != http::error::need_more) {
      // The client's framing broke mid-body: nothing sensible can follow on this connection.
      upstream_->cancel();
      keep_alive_ = false;
      if (!upstream_ended_ && out_.empty() && !writing_) {
        const bool too_large = ec == http::error::body_limit;
        writeErrorResponse(out_, too_large ? 413 : 400,
                           too_large ? "request-body-too-large" : "bad-request",
                           "bad request body: " + ec.message(), false, request_.head_request);
        upstream_ended_ = true;
        return writeOut();
      }
      return finish(Outcome{true, false});
    }
    for (auto piece : client_.events.body) {
      ahead_ += piece.size();
      upstream_->pushBody(piece);
      if (finished_) return;
    }
    if (client_.parser.is_done()) {
      request_done_ = true;
      std::vector<std::pair<std::string, std::string>> trailers;
      for (const auto& t : client_.events.trailers)
        trailers.emplace_back(lower(t.name), std::string(t.value));
      client_.in.consume(used);
      return upstream_->endBody(std::move(trailers));
    }
    client_.in.consume(used);
    if (used == 0) return readClient();  // half a chunk header: more bytes needed
  }
}

void H2ClientExchange::onRequestBodyConsumed(std::size_t n) {
  ahead_ -= std::min<uint64_t>(n, ahead_);
  if (!reading_) pumpRequest();
}

void H2ClientExchange::readClient() {
  if (reading_) return;
  reading_ = true;
  client_.socket.async_read_some(
      client_.in.prepare(kReadSize),
      [self = shared_from_this(), owner = client_.owner](error_code ec, std::size_t n) {
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
        if (ec) return self->finish(Outcome{true, false});  // the client went away
        self->client_.in.commit(n);
        self->pumpRequest();
      });
}

// ---------------------------------------------------------------------------------------------
// Response: upstream -> client.

void H2ClientExchange::onResponseHead(unsigned status, const std::vector<HeaderField>& fields) {
  ParseEvents resp;
  resp.status = status;
  resp.fields = fields;
  if (auto cl = findField(fields, http::field::content_length)) {
    uint64_t n = 0;
    auto [p, ec] = std::from_chars(cl->data(), cl->data() + cl->size(), n);
    if (ec == std::errc() && p == cl->data() + cl->size()) resp.content_length = n;
  }
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
  if (framing_ == Framing::kClose || worker_.draining()) keep_alive_ = false;
  writeDownstreamResponseHead(out_, resp, {}, framing, keep_alive_, request_.client_version);
  writeOut();
}

bool H2ClientExchange::onResponseData(std::string_view data) {
  if (framing_ == Framing::kNone) return true;  // HEAD, 204, 304: no body goes out
  if (framing_ == Framing::kChunked) {
    appendChunkHeader(out_, data.size());
    out_.append(data);
    out_.append(kCrlf);
  } else {
    out_.append(data);
  }
  writeOut();
  if (out_.size() < kOutHighWater) return true;
  paused_ = true;  // resumed once the client has taken what is queued
  return false;
}

void H2ClientExchange::onResponseTrailers(const std::vector<HeaderField>& trailers) {
  for (const auto& t : trailers) trailers_.emplace_back(std::string(t.name), std::string(t.value));
}

void H2ClientExchange::onResponseEnd() {
  if (framing_ == Framing::kChunked) {
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
  writeOut();
}

void H2ClientExchange::onGatewayError(unsigned status, std::string_view cause,
                                      std::string_view detail) {
  // The connection carries another request only when this one was read to its end.
  keep_alive_ = keep_alive_ && request_done_ && !worker_.draining();
  writeErrorResponse(out_, status, cause, detail, keep_alive_, request_.head_request);
  upstream_ended_ = true;
  writeOut();
}

void H2ClientExchange::onResponseReset(std::string_view) {
  // Truncated: what arrived still goes out, then the client sees the connection close.
  upstream_reset_ = true;
  writeOut();
}

void H2ClientExchange::writeOut() {
  if (finished_ || writing_) return;
  if (out_.empty()) {
    if (upstream_reset_) return finish(Outcome{true, false});
    // A client still sending its body cannot send another request on this connection.
    if (upstream_ended_) finish(Outcome{false, keep_alive_ && request_done_});
    return;
  }
  std::swap(out_, wbuf_);
  out_.clear();
  writing_ = true;
  asio::async_write(client_.socket, asio::buffer(wbuf_),
                    [self = shared_from_this(), owner = client_.owner](error_code ec, std::size_t) {
                      self->writing_ = false;
                      if (self->finished_) return;
                      if (ec) return self->finish(Outcome{true, false});
                      if (self->paused_ && self->out_.size() < kOutHighWater) {
                        self->paused_ = false;
                        self->upstream_->resumeResponse();
                        if (self->finished_) return;
                      }
                      self->writeOut();
                    });
}

void H2ClientExchange::finish(Outcome outcome) {
  if (finished_) return;
  if (reading_ && !outcome.abort) {
    // A client read is in flight: the session may not read until it completes.
    after_read_ = outcome;
    linger_deadline_ = worker_.time().now() + kLinger;
    return;
  }
  finished_ = true;
  auto self = shared_from_this();
  if (upstream_) upstream_->cancel();     // nothing when it ended already
  auto owner = std::move(client_.owner);  // let go once done has run
  if (auto done = std::move(done_)) done(outcome);
}

void H2ClientExchange::checkDeadline(TimePoint now) {
  if (finished_) return;
  if (after_read_) {
    if (now < linger_deadline_) return;
    after_read_.reset();
    return finish(Outcome{true, false});
  }
  auto self = shared_from_this();
  if (upstream_) upstream_->checkDeadline(now);
}

void H2ClientExchange::abort() {
  finished_ = true;
  after_read_.reset();
  done_ = nullptr;
  if (upstream_) upstream_->cancel();
  auto owner = std::move(client_.owner);
}

}  // namespace switchyard::proxy
