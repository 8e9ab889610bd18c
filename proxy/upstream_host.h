#pragma once
// One upstream instance as one worker sees it: its idle keep-alive connections and its live
// figures. Worker thread only. A host that leaves its set "departs": it gets no new request,
// its idle connections close at once, and connections busy with a request close when their
// response is done (docs/behaviour-under-churn.md, "A departed instance drains").

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <memory>
#include <vector>

#include "common/time_source.h"
#include "proxy/client_stream.h"
#include "proxy/outlier_detector.h"
#include "proxy/stats.h"
#include "routing/cluster_snapshot.h"
#include "routing/endpoint_load.h"

namespace switchyard::proxy {

class H2ClientPool;
class TlsClientContext;
class TlsContextSet;

struct UpstreamConnection {
  // Plain TCP to the instance.
  explicit UpstreamConnection(boost::asio::io_context& ctx)
      : stream(boost::asio::ip::tcp::socket(ctx)) {}
  // TLS to the instance `instance_id` ("host:port": SNI and the verified name, unless the
  // cluster sets server_name). stream.asyncConnect() connects and handshakes.
  UpstreamConnection(boost::asio::io_context& ctx, std::shared_ptr<const TlsClientContext> tls,
                     std::string_view instance_id)
      : stream(boost::asio::ip::tcp::socket(ctx), std::move(tls), instance_id) {}
  // A new connection to `endpoint` of cluster `c`: TLS with the cluster's context from `tls`
  // when the cluster speaks TLS (null when that context did not load), else plain.
  static std::unique_ptr<UpstreamConnection> open(boost::asio::io_context& ctx,
                                                  const TlsContextSet* tls,
                                                  const config::Cluster& c,
                                                  const routing::Endpoint& endpoint);

  ClientStream stream;
  boost::beast::flat_buffer in;  // response bytes not yet used
  bool reused = false;           // has carried a request before
  TimePoint idle_since{};
};

// Options of every new connection to an instance: TCP_NODELAY (a head and its body are not held
// back by Nagle), and TCP keepalive with a user timeout, so that a pooled connection to a machine
// that died or lost its network is found and closed (idle: probes after kKeepaliveIdle, dead
// after kKeepaliveCount unanswered; busy: data unacknowledged for kUserTimeout) instead of
// holding its slot for the kernel's default two hours. A hung process on a live machine still
// acknowledges: the per-try deadline and HTTP/2 PINGs find that one.
void tuneUpstreamSocket(boost::asio::ip::tcp::socket& socket);

class UpstreamHost {
 public:
  UpstreamHost(const routing::Endpoint& endpoint, uint32_t max_connections);
  ~UpstreamHost();

  const routing::Endpoint& endpoint() const { return endpoint_; }
  bool departed() const { return departed_; }
  bool atConnectionLimit() const {
    return stats.connections_open >= static_cast<int64_t>(max_connections_);
  }

  // An idle connection that still looks open (a non-blocking peek sees no EOF), or null.
  std::unique_ptr<UpstreamConnection> takeIdle();
  // Back to the pool when reusable and the host is still in its set; otherwise closed.
  void release(std::unique_ptr<UpstreamConnection> conn, bool reusable, TimePoint now);
  // A connection that will not come back (failed, tunnelled away, closed by either side).
  void discard(std::unique_ptr<UpstreamConnection> conn);
  void connectionOpened() {
    ++stats.connections_open;
    ++stats.connects;
  }

  void depart();
  void setMaxConnections(uint32_t n) { max_connections_ = n; }
  // Closes idle connections unused since `cutoff` (the upstream would close them soon anyway).
  void closeIdleBefore(TimePoint cutoff);
  size_t idleCount() const { return idle_.size(); }

  InstanceStats stats;
  // The load balancer's live view of this host on this worker (least_request, p2c_ewma): in
  // flight from pick to the end of the exchange, peak-EWMA latency to the response head.
  // Written by the session, read through ClusterRuntime::pick().
  routing::EndpointLoad load;
  // Outlier detection's record of this host on this worker (ClusterRuntime decides).
  OutlierState outlier;
  // Slow start: when this worker first saw the host, and whether its share still ramps up.
  TimePoint added_at{};
  bool slow_starting = false;
  // A departed host's requests in flight are cut at this time (drain_timeout_ms after it left).
  TimePoint drain_deadline = TimePoint::max();
  // HTTP/2 connections (clusters with protocol h2c/h2), made on first use; departs and closes
  // idle connections with the host.
  std::unique_ptr<H2ClientPool> h2;

 private:
  routing::Endpoint endpoint_;
  uint32_t max_connections_;
  bool departed_ = false;
  std::vector<std::unique_ptr<UpstreamConnection>> idle_;  // most recently used last
};

// When a tunnel (a TCP listener's, or a WebSocket's after a 101) to one host must close:
// drain_timeout_ms after the host departed its set, or after its weight became 0 (an operator's
// drain, discovery's weight 0), which keeps the instance in its set: a tunnel, unlike a request,
// would then never move. One per tunnel; worker thread only.
struct TunnelDrain {
  // TimePoint::max(): not yet. `cluster` is the host's cluster as the worker sees it now (null
  // when a reload removed it); the weight is looked up only when its version changed.
  TimePoint deadline(const UpstreamHost& host, const routing::ClusterSnapshot* cluster,
                     TimePoint now);

  uint64_t seen_version = 0;
  TimePoint weight_deadline = TimePoint::max();  // unless the weight comes back first
};

}  // namespace switchyard::proxy
