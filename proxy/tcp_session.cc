#include "proxy/tcp_session.h"

#include <algorithm>
#include <boost/asio/write.hpp>

#include "proxy/access_log.h"
#include "proxy/cluster_runtime.h"
#include "proxy/worker.h"
#include "routing/hash64.h"

namespace switchyard::proxy {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

TimePoint after(TimePoint now, uint32_t ms) {
  return ms == 0 ? TimePoint::max() : now + std::chrono::milliseconds(ms);
}

}  // namespace

TcpSession::TcpSession(Worker& worker, uint32_t listener_index, tcp::socket socket)
    : worker_(worker),
      listener_index_(listener_index),
      stats_(worker.listenerStats(listener_index)),
      client_(std::move(socket)) {
  registration_ = worker_.registerSession(this);
  ++stats_.connections_open;
  ++stats_.connections_accepted;
  error_code ec;
  auto ep = client_.remote_endpoint(ec);
  if (!ec) client_ip_ = ep.address().to_string();
}

TcpSession::~TcpSession() {
  releaseHost();
  --stats_.connections_open;
  worker_.unregisterSession(registration_);
}

const std::string& TcpSession::listenerName() const {
  return worker_.snapshot().config->listeners[listener_index_].name;
}

ClusterRuntime* TcpSession::currentCluster() {
  ClusterRuntime* c = worker_.cluster(cluster_index_);
  return c && c->name() == cluster_name_ ? c : nullptr;
}

tcp::socket& TcpSession::socketOf(bool client) { return client ? client_ : up_->stream.socket(); }

void TcpSession::start() {
  const auto now = worker_.time().now();
  started_ = now;
  const auto& config = *worker_.snapshot().config;
  const auto& listener = config.listeners[listener_index_];
  idle_timeout_ms_ = listener.limits.idle_timeout_ms;
  // The loader checked that the cluster exists; a connection costs one scan of the names.
  for (size_t i = 0; i < config.clusters.size(); ++i)
    if (config.clusters[i].name == listener.cluster) cluster_index_ = static_cast<int>(i);
  cluster_name_ = listener.cluster;
  ClusterRuntime* cluster = currentCluster();
  if (!cluster) return finish("no-healthy-instance");
  // A tunnel has no header or cookie: a hashing cluster keys on the client's address, as
  // hash_on: source_ip does for HTTP (the same hash, so both agree on an instance).
  if (!cluster->config().hash_on.empty() && !client_ip_.empty())
    hash_ = routing::hashBytes(client_ip_);
  cluster->retryBudget().onRequest(now);
  pickAndConnect();
}

void TcpSession::pickAndConnect() {
  state_ = State::kConnecting;
  ClusterRuntime* cluster = currentCluster();
  if (!cluster) return finish("no-healthy-instance");
  releaseHost();  // a previous attempt's
  host_ = cluster->pick(hash_, excluded_);
  if (!host_) {
    ++cluster->no_instance;
    return finish("no-healthy-instance");
  }
  const auto now = worker_.time().now();
  ++host_->load.in_flight;
  load_counted_ = true;
  picked_at_ = now;
  if (host_->atConnectionLimit()) return finish("connection-limit");
  up_ = std::make_unique<UpstreamConnection>(worker_.context());
  ++up_gen_;
  host_->connectionOpened();
  deadline_ = after(now, cluster->config().connect_timeout_ms);
  up_->stream.socket().async_connect(
      host_->endpoint().address,
      [self = shared_from_this(), gen = up_gen_](error_code ec) { self->onConnected(ec, gen); });
}

void TcpSession::onConnected(error_code ec, uint64_t gen) {
  if (gen != up_gen_ || state_ != State::kConnecting) return;
  if (ec) return onConnectFailure();
  tuneUpstreamSocket(up_->stream.socket());
  const auto now = worker_.time().now();
  if (ClusterRuntime* cluster = currentCluster()) {
    cluster->recordConnected(*host_);
    cluster->recordSuccess(*host_);
  }
  // p2c_ewma's latency for a tunnel: the time to connect, the one round trip it has.
  routing::observeLatency(host_->load,
                          std::chrono::duration<double, std::micro>(now - picked_at_).count(), now);
  ++host_->stats.in_flight;
  in_flight_counted_ = true;
  host_->stats.responses.add(0);  // the instance's "requests": one per tunnel (status class none)
  startRelay();
}

void TcpSession::onConnectFailure() {
  ++host_->stats.connect_failures;
  ClusterRuntime* cluster = currentCluster();
  if (cluster) cluster->recordFailure(*host_);
  excluded_ = host_.get();
  releaseHost();
  // A connect failure reached no instance: it is always tried elsewhere within attempts, and
  // spends no retry budget (as for HTTP).
  if (cluster && attempts_ < cluster->config().retries.attempts) {
    ++attempts_;
    ++cluster->retries;
    return pickAndConnect();
  }
  finish("connect-failure");
}

void TcpSession::startRelay() {
  state_ = State::kRelaying;
  // Allocated once connected: a connection refused for lack of an instance costs no buffer.
  for (auto& d : dir_) d.buf = std::make_unique<char[]>(kBufferSize);
  deadline_ = after(worker_.time().now(), idle_timeout_ms_);
  read(kToUpstream);
  read(kToClient);
}

void TcpSession::read(Way way) {
  socketOf(way == kToUpstream)
      .async_read_some(asio::buffer(dir_[way].buf.get(), kBufferSize),
                       [self = shared_from_this(), way](error_code ec, std::size_t n) {
                         self->onRead(way, ec, n);
                       });
}

void TcpSession::onRead(Way way, error_code ec, std::size_t n) {
  if (state_ != State::kRelaying) return;
  auto& to = socketOf(way == kToClient);
  if (ec == asio::error::eof) {
    // This way is done: pass the half-close on. The other way may still carry bytes.
    error_code ignored;
    to.shutdown(tcp::socket::shutdown_send, ignored);
    if (--open_directions_ == 0) finish("");
    return;
  }
  if (ec) return finish(way == kToUpstream ? "client-reset" : "upstream-reset");
  deadline_ = after(worker_.time().now(), idle_timeout_ms_);
  asio::async_write(to, asio::buffer(dir_[way].buf.get(), n),
                    [self = shared_from_this(), way](error_code ec, std::size_t n) {
                      self->onWritten(way, ec, n);
                    });
}

void TcpSession::onWritten(Way way, error_code ec, std::size_t n) {
  if (state_ != State::kRelaying) return;
  dir_[way].bytes += n;
  if (way == kToUpstream)
    stats_.bytes_received += n;
  else
    stats_.bytes_sent += n;
  if (ec) return finish(way == kToUpstream ? "upstream-reset" : "client-reset");
  read(way);
}

TimePoint TcpSession::drainDeadline(TimePoint now) {
  ClusterRuntime* cluster = currentCluster();
  return drain_.deadline(*host_, cluster ? &cluster->snapshot() : nullptr, now);
}

void TcpSession::checkDeadline(TimePoint now) {
  if (state_ == State::kClosed) return;
  if (state_ == State::kRelaying && now >= drainDeadline(now)) return finish("drain-timeout");
  if (now < deadline_) return;
  deadline_ = TimePoint::max();
  if (state_ == State::kConnecting) return onConnectFailure();
  finish("idle-timeout");
}

void TcpSession::abort() { finish("gateway-shutdown"); }

void TcpSession::finish(std::string_view cause) {
  if (state_ == State::kClosed) return;
  state_ = State::kClosed;
  deadline_ = TimePoint::max();
  if (!cause.empty()) ++stats_.errors[std::string(cause)];
  error_code ignored;
  client_.close(ignored);
  releaseHost();
  if (auto* log = worker_.accessLog()) {
    const auto elapsed =
        std::chrono::duration_cast<std::chrono::microseconds>(worker_.time().now() - started_);
    AccessRecord r;
    r.tunnel = true;
    r.listener = listenerName();
    r.client_ip = client_ip_;
    r.cluster = cluster_name_;
    r.upstream = host_ ? std::string_view(host_->endpoint().id) : std::string_view();
    r.error = cause;
    r.bytes_sent = dir_[kToClient].bytes;
    r.bytes_received = dir_[kToUpstream].bytes;
    r.duration_us = static_cast<uint64_t>(elapsed.count());
    log->append(r);
  }
}

void TcpSession::releaseHost() {
  if (!host_) return;
  if (load_counted_) --host_->load.in_flight;
  load_counted_ = false;
  if (in_flight_counted_) --host_->stats.in_flight;
  in_flight_counted_ = false;
  if (up_) {
    ++up_gen_;  // the pending connect's handler sees a stale generation
    host_->discard(std::move(up_));
  }
}

}  // namespace switchyard::proxy
