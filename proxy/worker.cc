#include "proxy/worker.h"

#include <spdlog/spdlog.h>

#include "proxy/access_log.h"
#include "proxy/http1_session.h"
#include "proxy/tcp_session.h"
#include "proxy/tls_context_set.h"
#include "proxy/tls_handshake.h"

namespace switchyard::proxy {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {
// Deadlines are checked on a tick rather than with a timer per operation: a request then costs
// no timer syscalls, and timeouts keep a resolution of this much.
constexpr auto kTick = std::chrono::milliseconds(50);
constexpr uint32_t kTicksPerSecond = 20;
// At most this many connections are taken from a listener's backlog when the worker drains.
constexpr int kMaxBacklogTaken = 4096;
// Once its sessions are gone, how long a draining worker waits for its upstream HTTP/2
// connections to write their GOAWAY and close (a peer that does not read must not hold up the
// exit: past this the process ends and the kernel closes them).
constexpr auto kUpstreamGoAwayWait = std::chrono::milliseconds(1000);
}  // namespace

struct Worker::Acceptor {
  uint32_t listener_index;
  tcp::acceptor acceptor;
  bool paused = false;  // accept failed for lack of descriptors; retried on the next tick
};

Worker::Worker(uint32_t id, AccessLogSink* access_log)
    : id_(id), random_(0x5157u + id * 0x9E3779B9u) {
  if (access_log) access_log_ = std::make_unique<AccessLogBuffer>(*access_log);
}

Worker::~Worker() {
  if (thread_.joinable()) {
    ctx_.stop();
    thread_.join();
  }
}

void Worker::addAcceptor(uint32_t listener_index, tcp::acceptor acceptor,
                         std::atomic<int64_t>* open_across_workers) {
  acceptors_.push_back(std::make_unique<Acceptor>(Acceptor{listener_index, std::move(acceptor)}));
  if (open_across_workers_.size() <= listener_index) {
    open_across_workers_.resize(listener_index + 1, nullptr);
    counted_open_.resize(listener_index + 1, 0);
  }
  open_across_workers_[listener_index] = open_across_workers;
}

void Worker::start() {
  for (auto& a : acceptors_) accept(*a);
  tick();
  thread_ = std::thread([this] {
    try {
      ctx_.run();
    } catch (const std::exception& e) {
      // Nothing on the request path throws by design; if something does, say so loudly.
      spdlog::critical("worker {}: unexpected exception: {}", id_, e.what());
      std::abort();
    }
  });
}

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

void Worker::post(std::function<void()> fn) { asio::post(ctx_, std::move(fn)); }

void Worker::applySnapshot(std::shared_ptr<const routing::RoutingSnapshot> snapshot) {
  const auto& clusters = snapshot->clusters;
  if (listener_stats_.size() < snapshot->config->listeners.size())
    listener_stats_.resize(snapshot->config->listeners.size());
  // The common case, a discovery update: same configuration, so the clusters are where they were
  // and only the changed ones need work (with 1,000 clusters, a by-name rebuild per update made
  // a gateway's start quadratic).
  if (snapshot_ && snapshot_->config == snapshot->config && clusters_.size() == clusters.size()) {
    for (size_t i = 0; i < clusters.size(); ++i)
      if (clusters_[i] && clusters[i] && &clusters_[i]->snapshot() != clusters[i].get())
        clusters_[i]->update(clusters[i]);
    snapshot_ = std::move(snapshot);
    return;
  }
  // A reload: clusters are matched by name, so that one that moved keeps its state.
  std::map<std::string, std::unique_ptr<ClusterRuntime>> old;
  for (auto& c : clusters_)
    if (c) old.emplace(c->name(), std::move(c));
  std::vector<std::unique_ptr<ClusterRuntime>> next(clusters.size());
  for (size_t i = 0; i < clusters.size(); ++i) {
    if (!clusters[i]) continue;
    auto it = old.find(clusters[i]->config->name);
    if (it != old.end() &&
        it->second->config().load_balancer == clusters[i]->config->load_balancer) {
      if (&it->second->snapshot() != clusters[i].get()) it->second->update(clusters[i]);
      next[i] = std::move(it->second);
      old.erase(it);
    } else {
      next[i] = std::make_unique<ClusterRuntime>(clusters[i], random_, time_);
    }
  }
  // Clusters removed by a reload: their idle connections close; sessions using one keep it
  // alive (they hold its hosts) until their exchange is done.
  for (auto& [name, c] : old) {
    c->addStats(removed_clusters_[name]);
    c->closeIdle();
  }
  clusters_ = std::move(next);
  snapshot_ = std::move(snapshot);
}

void Worker::applyTls(std::shared_ptr<const TlsContextSet> tls) { tls_ = std::move(tls); }

std::list<DownstreamSession*>::iterator Worker::registerSession(DownstreamSession* s) {
  return sessions_.insert(sessions_.end(), s);
}

void Worker::unregisterSession(std::list<DownstreamSession*>::iterator it) {
  sessions_.erase(it);
  if (draining_) post([this] { checkDrained(); });
  // The session's destructor has not finished (its connections_open may not be down yet): the
  // shared counts are brought up to date after it, once for every close of this loop turn.
  if (!reconcile_posted_) {
    reconcile_posted_ = true;
    post([this] {
      reconcile_posted_ = false;
      reconcileConnections();
    });
  }
}

void Worker::reconcileConnections() {
  for (size_t li = 0; li < open_across_workers_.size(); ++li) {
    if (!open_across_workers_[li] || li >= listener_stats_.size()) continue;
    const int64_t delta = listener_stats_[li].connections_open - counted_open_[li];
    if (delta == 0) continue;
    open_across_workers_[li]->fetch_add(delta, std::memory_order_relaxed);
    counted_open_[li] += delta;
  }
}

bool Worker::admitConnection(uint32_t li) {
  const auto& limits = snapshot_->config->listeners[li].limits;
  std::atomic<int64_t>* shared = open_across_workers_[li];  // every acceptor brought one
  // One atomic operation per accept: this worker's closes since its last look, plus the new one.
  const int64_t delta = listener_stats_[li].connections_open - counted_open_[li] + 1;
  const int64_t open = shared->fetch_add(delta, std::memory_order_relaxed) + delta;
  counted_open_[li] += delta;
  if (open <= static_cast<int64_t>(limits.max_connections)) return true;
  shared->fetch_sub(1, std::memory_order_relaxed);
  --counted_open_[li];
  return false;
}

void Worker::accept(Acceptor& a) {
  a.acceptor.async_accept([this, &a](error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted) return;
    if (!a.acceptor.is_open()) {
      // Accepted just before the drain closed the listener: the client was promised an answer
      // (its session gets the draining rules: one request, Connection: close).
      if (!ec && socket.is_open()) startSession(a.listener_index, std::move(socket));
      return;
    }
    if (ec) {
      // EMFILE and friends: back off until the next tick instead of spinning.
      spdlog::warn("worker {}: accept failed: {}", id_, ec.message());
      a.paused = true;
      return;
    }
    if (!admitConnection(a.listener_index)) {
      // Over the limit: accepted and closed at once (the client sees a close, not a hang in
      // the backlog, and can try another gateway), rather than degrading every connection.
      // Accepting goes on: a connection that closes frees a slot for the next client.
      ++listener_stats_[a.listener_index].connections_rejected;
      error_code ignored;
      socket.close(ignored);
    } else {
      startSession(a.listener_index, std::move(socket));
    }
    accept(a);
  });
}

void Worker::startSession(uint32_t listener_index, tcp::socket socket) {
  error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  switch (snapshot_->config->listeners[listener_index].protocol) {
    case config::ListenerProtocol::kTcp:
      std::make_shared<TcpSession>(*this, listener_index, std::move(socket))->start();
      return;
    case config::ListenerProtocol::kHttps: {
      // The handshake first; the protocol it negotiates then picks the session.
      auto tls = tls_ ? tls_->listener(listener_index) : nullptr;
      if (!tls) return socket.close(ignored);  // never: bind() refuses a listener without one
      std::make_shared<TlsHandshake>(*this, listener_index, std::move(socket), std::move(tls))
          ->start();
      return;
    }
    default:
      std::make_shared<Http1Session>(*this, listener_index, ClientStream(std::move(socket)))
          ->start();
      return;
  }
}

void Worker::tick() {
  tick_timer_.expires_after(kTick);
  tick_timer_.async_wait([this](error_code ec) {
    // cancel() cannot stop a wait whose expiry is already queued: drained_ ends the ticks.
    if (ec || drained_) return;
    const auto now = Clock::now();
    // checkDeadline may close a session, which unregisters it only later (from its handlers),
    // so the list is stable while it is walked.
    for (auto* s : sessions_) s->checkDeadline(now);
    for (auto& c : clusters_)
      if (c) c->updateWeights(time_.now());
    reconcileConnections();  // a connection that never became a session (rare) is let go here
    if (++ticks_ % kTicksPerSecond == 0) {
      for (auto& c : clusters_)
        if (c) c->tick(now);
      for (auto& a : acceptors_)
        if (a->paused && !draining_) {
          a->paused = false;
          accept(*a);
        }
    }
    if (access_log_) access_log_->flush();
    tick();
    // After the rescheduling: a drain that completes cancels the timer.
    if (draining_) checkDrained();
  });
}

std::vector<std::pair<uint32_t, int>> Worker::listeningSockets() {
  std::vector<std::pair<uint32_t, int>> out;
  for (auto& a : acceptors_)
    if (a->acceptor.is_open()) out.emplace_back(a->listener_index, a->acceptor.native_handle());
  return out;
}

void Worker::drain(std::function<void()> on_drained, bool take_backlog) {
  draining_ = true;
  on_drained_ = std::move(on_drained);
  // drain() may close sessions; take a copy since closing can unregister synchronously.
  std::vector<DownstreamSession*> sessions(sessions_.begin(), sessions_.end());
  for (auto* s : sessions) s->drain();
  for (auto& a : acceptors_) {
    // Connections the kernel accepted already (the backlog) were promised an answer: take them
    // before closing, so that closing the socket does not reset them. Each gets its one request
    // answered with Connection: close (the worker is draining).
    error_code ec;
    a->acceptor.non_blocking(true, ec);
    for (int i = 0; take_backlog && !ec && i < kMaxBacklogTaken; ++i) {
      tcp::socket socket = a->acceptor.accept(ec);
      if (ec) break;
      startSession(a->listener_index, std::move(socket));
    }
    error_code ignored;
    a->acceptor.close(ignored);
  }
  for (auto& c : clusters_)
    if (c) c->closeIdle();
  checkDrained();
}

void Worker::checkDrained() {
  if (!draining_ || !sessions_.empty() || !on_drained_) return;
  // Every exchange is over: the upstream connections are idle now, or about to be (a cancelled
  // stream's RST is still being written). Each HTTP/2 one sends GOAWAY(NO_ERROR) and closes
  // once it is written; this runs again on every tick until they are gone (a connection still
  // finishing a stream is taken on a later tick).
  for (auto& c : clusters_)
    if (c) c->closeIdle();
  const TimePoint now = Clock::now();
  if (upstream_parting_deadline_ == TimePoint::max())
    upstream_parting_deadline_ = now + kUpstreamGoAwayWait;
  if (upstreamConnectionsOpen() > 0 && now < upstream_parting_deadline_) return;
  if (access_log_) access_log_->flush();
  drained_ = true;
  tick_timer_.cancel();
  auto done = std::move(on_drained_);
  on_drained_ = nullptr;
  done();
}

int64_t Worker::upstreamConnectionsOpen() const {
  ClusterStats figures;
  for (const auto& c : clusters_)
    if (c) c->addStats(figures);
  int64_t open = 0;
  for (const auto& [id, s] : figures.instances) open += s.connections_open;
  return open;
}

void Worker::closeAll() {
  std::vector<DownstreamSession*> sessions(sessions_.begin(), sessions_.end());
  for (auto* s : sessions) s->abort();
}

StatsReport Worker::collectStats() const {
  StatsReport r;
  r.listeners.assign(listener_stats_.begin(), listener_stats_.end());
  for (const auto& [name, c] : removed_clusters_) r.clusters[name].merge(c);
  for (const auto& c : clusters_)
    if (c) c->addStats(r.clusters[c->name()]);
  return r;
}

}  // namespace switchyard::proxy
