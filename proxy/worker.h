#pragma once
// One event loop on one thread. It accepts on its own SO_REUSEPORT sockets, owns its sessions,
// upstream pools and load-balancer state, and routes on the immutable snapshot the control thread
// last posted to it. Nothing here is shared with another thread except through post().

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <deque>
#include <functional>
#include <list>
#include <memory>
#include <thread>
#include <vector>

#include "common/random.h"
#include "common/time_source.h"
#include "proxy/cluster_runtime.h"
#include "proxy/stats.h"
#include "routing/routing_snapshot.h"

namespace switchyard::proxy {

class AccessLogBuffer;
class AccessLogSink;
class DownstreamSession;
class TlsContextSet;

class Worker {
 public:
  Worker(uint32_t id, AccessLogSink* access_log);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Before start(): the listening sockets (already bound, one per listener, by listener index).
  // `open_across_workers` counts the listener's connections on every worker (owned by the
  // Server, outliving the worker): limits.max_connections holds against it.
  void addAcceptor(uint32_t listener_index, boost::asio::ip::tcp::acceptor acceptor,
                   std::atomic<int64_t>* open_across_workers);
  void start();
  void join();
  boost::asio::io_context& context() { return ctx_; }
  uint32_t id() const { return id_; }

  // Any thread: runs `fn` on this worker's thread.
  void post(std::function<void()> fn);

  // ---- Worker thread only from here on. ----
  void applySnapshot(std::shared_ptr<const routing::RoutingSnapshot> snapshot);
  // The TLS contexts of the running configuration (the control thread builds them at start and
  // at each reload); new connections take the current ones, established ones keep theirs.
  void applyTls(std::shared_ptr<const TlsContextSet> tls);
  const TlsContextSet* tls() const { return tls_.get(); }
  const routing::RoutingSnapshot& snapshot() const { return *snapshot_; }
  ClusterRuntime* cluster(int index) {
    return index >= 0 && static_cast<size_t>(index) < clusters_.size()
               ? clusters_[static_cast<size_t>(index)].get()
               : nullptr;
  }
  ListenerStats& listenerStats(uint32_t listener_index) { return listener_stats_[listener_index]; }
  Random& random() { return random_; }
  const TimeSource& time() const { return time_; }
  AccessLogBuffer* accessLog() { return access_log_.get(); }
  bool draining() const { return draining_; }

  // Sessions register so the worker can enforce their deadlines and drain them.
  std::list<DownstreamSession*>::iterator registerSession(DownstreamSession* s);
  void unregisterSession(std::list<DownstreamSession*>::iterator it);

  // Stop accepting, close idle connections, let busy ones finish their exchange, then call
  // `on_drained` (on this thread) once no session is left and the upstream HTTP/2 connections
  // have parted with GOAWAY (for at most kUpstreamGoAwayWait).
  // (listener index, descriptor) of every listening socket of this worker, for a takeover by a
  // new process. Before the worker starts (the control thread lists them at bind time).
  std::vector<std::pair<uint32_t, int>> listeningSockets();
  // `take_backlog`: accept what waits in the listening sockets before closing them (false when
  // a new process took them over and accepts it).
  void drain(std::function<void()> on_drained, bool take_backlog = true);
  // Closes every session at once (the drain deadline passed).
  void closeAll();
  StatsReport collectStats() const;

 private:
  struct Acceptor;
  void accept(Acceptor& a);
  // An accepted connection becomes the session its listener's protocol calls for.
  void startSession(uint32_t listener_index, boost::asio::ip::tcp::socket socket);
  void tick();
  void checkDrained();
  // Upstream connections of this worker's clusters still open (busy, idle or closing).
  int64_t upstreamConnectionsOpen() const;
  // Brings each listener's shared count up to date with this worker's connections_open (the
  // sessions closed since the last look). Relaxed atomics: the limit is a bound on resources,
  // not a lock.
  void reconcileConnections();
  // Takes a slot on the listener for a connection just accepted; false (and nothing counted)
  // when the listener is at limits.max_connections across workers.
  bool admitConnection(uint32_t listener_index);

  const uint32_t id_;
  boost::asio::io_context ctx_{1};
  std::thread thread_;
  std::vector<std::unique_ptr<Acceptor>> acceptors_;
  boost::asio::steady_timer tick_timer_{ctx_};
  SystemTimeSource time_;
  Random random_;
  std::shared_ptr<const routing::RoutingSnapshot> snapshot_;
  std::shared_ptr<const TlsContextSet> tls_;
  std::vector<std::unique_ptr<ClusterRuntime>> clusters_;  // by cluster index
  // By listener index; a deque so that the references sessions hold stay valid as it grows.
  std::deque<ListenerStats> listener_stats_;
  // By listener index: the shared counts, and how much of each this worker has added.
  std::vector<std::atomic<int64_t>*> open_across_workers_;
  std::vector<int64_t> counted_open_;
  bool reconcile_posted_ = false;
  std::map<std::string, ClusterStats> removed_clusters_;  // figures of clusters gone by reload
  std::list<DownstreamSession*> sessions_;
  std::unique_ptr<AccessLogBuffer> access_log_;
  bool draining_ = false;
  std::function<void()> on_drained_;
  // The drain completed and was reported: the tick stops re-arming (a tick already queued when
  // checkDrained cancelled the timer would otherwise keep the loop alive forever).
  bool drained_ = false;
  // Once no session is left: until when the upstream connections may take to part.
  TimePoint upstream_parting_deadline_ = TimePoint::max();
  uint32_t ticks_ = 0;
};

}  // namespace switchyard::proxy
