#include "proxy/http1_session.h"

#include <boost/asio/write.hpp>
#include <boost/beast/core/string.hpp>
#include <limits>
#include <utility>

#include "proxy/h2_server_session.h"
#include "proxy/http1_head_writer.h"
#include "proxy/request_log.h"
#include "proxy/worker.h"

namespace switchyard::proxy {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

constexpr std::size_t kReadSize = 16 * 1024;
constexpr uint32_t kLingerMs = 2000;
// Beast 1.74 compares a Content-Length with an empty optional limit as "exceeded", so "no
// limit" is spelled as the largest one.
constexpr uint64_t kNoBodyLimit = std::numeric_limits<uint64_t>::max();

std::string_view view(const boost::beast::flat_buffer& b) {
  auto d = b.data();
  return {static_cast<const char*>(d.data()), d.size()};
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
  if (exchange_) exchange_->abort();
  if (tunnel_.conn) tunnel_.host->discard(std::move(tunnel_.conn));
}

const config::Listener& Http1Session::listener() const {
  return worker_.snapshot().config->listeners[listener_index_];
}

void Http1Session::start() {
  state_ = State::kIdle;
  setDeadline(listener().limits.idle_timeout_ms);
  // Accepted while the worker drains (its backlog, or an accept that raced the close): one
  // request, within the first-request grace.
  if (worker_.draining()) drain();
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
  // The client went away. Between requests that is normal; in the middle of a head, the
  // request is abandoned.
  if (ec) return abort();
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
    default:
      return;  // the bytes wait in in_ (the exchange reads for itself)
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
  const auto& l = listener();
  const auto& limits = l.limits;
  method_.assign(req_.method_text);
  target_.assign(req_.target);
  client_version_ = req_.version;
  head_request_ = req_.method == http::verb::head;
  keep_alive_ = req_parser_->keep_alive() && !draining_ && !worker_.draining();
  if (limits.max_body_bytes && req_.content_length.value_or(0) > limits.max_body_bytes)
    return sendError(413, "request-body-too-large",
                     "the request body exceeds " + std::to_string(limits.max_body_bytes) + " bytes",
                     true);
  const bool upgrade =
      req_parser_->upgrade() && findField(req_.fields, http::field::upgrade).has_value();
  const bool https = l.protocol == config::ListenerProtocol::kHttps;
  // The listener's address stands for a missing Host (HTTP/1.0); not spelled out otherwise.
  const bool has_host = findField(req_.fields, http::field::host).has_value();
  RequestHead head = Http1Exchange::requestHead(req_, upgrade, https ? "https" : "http", client_ip_,
                                                has_host ? "" : l.address.str());
  // The head's views point into in_: from here on only the copy above is used.
  in_.consume(head_bytes);
  req_parser_->eager(true);
  state_ = State::kExchanging;
  deadline_ = TimePoint::max();  // the exchange's deadlines rule now
  if (!exchange_)
    exchange_ = std::make_shared<Http1Exchange>(
        worker_, listener_index_, Http1Exchange::Client{client_, in_, req_},
        [this](Http1Exchange::Outcome o) { onExchangeDone(o); });
  Http1Exchange::Request r;
  r.parser = &*req_parser_;
  r.head_request = head_request_;
  r.client_version = client_version_;
  r.keep_alive = keep_alive_;
  r.owner = shared_from_this();
  exchange_->start(std::move(head), std::move(r));
}

void Http1Session::onExchangeDone(Http1Exchange::Outcome o) {
  if (state_ != State::kExchanging) return;
  if (o.abort) return abort();
  if (o.upgraded) {
    tunnel_ = exchange_->takeTunnel();
    return startTunnel();
  }
  if (o.request_error)
    return sendError(o.request_error,
                     o.request_error == 413 ? "request-body-too-large" : "bad-request",
                     o.error_detail, true);
  // The exchange's UpstreamRequest has counted and logged the request.
  keep_alive_ = keep_alive_ && o.keep_alive;
  if (!keep_alive_) return closeClient();
  nextRequest();
}

void Http1Session::sendError(unsigned status, std::string_view cause, std::string_view detail,
                             bool close) {
  if (state_ == State::kClosed || state_ == State::kClosing) return;
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
  r.error = error_cause_;
  r.status = final_status_;
  r.bytes_sent = bytes_sent_;
  r.version = client_version_;
  countRequest(worker_, stats_, r, started_);
}

void Http1Session::nextRequest() {
  // Reset the per-request state; the buffers keep their capacity.
  req_parser_.reset();
  method_.clear();
  target_.clear();
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
  deadline_ = TimePoint::max();
  if (exchange_) exchange_->abort();
  if (tunnel_.conn) {
    tunnel_.conn->stream.close();
    tunnel_.host->discard(std::move(tunnel_.conn));
  }
  client_.close();
}

void Http1Session::drain() {
  draining_ = true;
  if (state_ == State::kIdle) {
    // A request may be on its way (the first one of a connection just accepted, or the next one
    // on a kept-alive connection): closing now would fail it. The connection gets kIdleGrace
    // for it, answered with Connection: close (as HAProxy's idle-close-on-response), then closes.
    deadline_ = std::min(deadline_, Clock::now() + kIdleGrace);
    return;
  }
  if (state_ == State::kExchanging) exchange_->drain();
}

void Http1Session::checkDeadline(TimePoint now) {
  if (state_ == State::kExchanging)
    return std::shared_ptr<Http1Exchange>(exchange_)->checkDeadline(now);
  if (state_ == State::kTunnel && now >= tunnelDrainDeadline(now)) {
    // The instance left its set or its weight became 0: its tunnels may live drain_timeout_ms
    // longer, no more.
    ++stats_.errors["drain-timeout"];
    return abort();
  }
  if (now < deadline_) return;
  deadline_ = TimePoint::max();
  switch (state_) {
    case State::kIdle:
      return closeClient();
    case State::kReadingHead:
      return sendError(408, "request-timeout", "the request header did not arrive in time", true);
    default:
      return abort();
  }
}

// ---------------------------------------------------------------------------------------------
// Tunnel (after 101 Switching Protocols): the exchange wrote the 101 and handed over the
// instance's connection, with any bytes it sent after the head in tunnel_.conn->in.

TimePoint Http1Session::tunnelDrainDeadline(TimePoint now) {
  const ClusterRuntime* c = worker_.cluster(tunnel_.cluster_index);
  return tunnel_drain_.deadline(*tunnel_.host,
                                c && c->name() == tunnel_.cluster ? &c->snapshot() : nullptr, now);
}

void Http1Session::startTunnel() {
  state_ = State::kTunnel;
  setDeadline(tunnel_.idle_timeout_ms);
  tunnel_open_ = 2;
  // Bytes already read on either side go first.
  tunnelFlush(true);
  tunnelFlush(false);
}

void Http1Session::tunnelFlush(bool client_to_upstream) {
  auto& src_buf = client_to_upstream ? in_ : tunnel_.conn->in;
  auto& dst = client_to_upstream ? tunnel_.conn->stream : client_;
  if (src_buf.size() == 0) return tunnelRead(client_to_upstream);
  dst.asyncWrite(src_buf.data(),
                 [self = shared_from_this(), client_to_upstream](error_code ec, std::size_t n) {
                   if (self->state_ != State::kTunnel) return;
                   if (ec) return self->abort();
                   auto& buf = client_to_upstream ? self->in_ : self->tunnel_.conn->in;
                   buf.consume(n);
                   self->setDeadline(self->tunnel_.idle_timeout_ms);
                   self->tunnelRead(client_to_upstream);
                 });
}

void Http1Session::tunnelRead(bool client_to_upstream) {
  auto& src = client_to_upstream ? client_ : tunnel_.conn->stream;
  auto& buf = client_to_upstream ? in_ : tunnel_.conn->in;
  src.async_read_some(buf.prepare(kReadSize), [self = shared_from_this(), client_to_upstream](
                                                  error_code ec, std::size_t n) {
    if (self->state_ != State::kTunnel) return;
    if (ec) return self->tunnelEnded(client_to_upstream);
    (client_to_upstream ? self->in_ : self->tunnel_.conn->in).commit(n);
    self->tunnelFlush(client_to_upstream);
  });
}

void Http1Session::tunnelEnded(bool client_to_upstream) {
  // One direction ended (everything read was written already): pass the half-close on, as a
  // TCP FIN or a TLS close_notify; when both directions have ended, the tunnel is done.
  auto& dst = client_to_upstream ? tunnel_.conn->stream : client_;
  dst.shutdownSend([self = shared_from_this()](error_code ec) {
    if (self->state_ != State::kTunnel) return;
    if (--self->tunnel_open_ == 0) self->abort();  // both halves closed: nothing can flow
  });
}

}  // namespace switchyard::proxy
