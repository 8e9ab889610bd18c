#pragma once
// One client connection of a `protocol: tcp` listener, on one worker, for its whole life: a byte
// tunnel to one instance of the listener's cluster. The instance is picked as for HTTP (the same
// balancer, weights, ejections, slow start; ring_hash and maglev key on the client's address),
// counted in flight while the tunnel is open (so least_request sees long tunnels), and a connect
// failure moves the tunnel to another instance within retries.attempts, feeding outlier detection.
//
// States and transitions:
//   kConnecting --connected--> kRelaying --both directions ended--> kClosed
//   kConnecting --connect failure or timeout--> kConnecting (another instance) | kClosed
//   kConnecting --no instance, attempts spent--> kClosed (the client is closed at once)
//   any --idle timeout, drain deadline, gateway closeAll, read/write error--> kClosed (abort)
//
// Relay: one fixed buffer per direction, one read outstanding per direction, and a buffer is
// written out whole before the next read into it, so a slow reader throttles its writer through
// TCP flow control and a tunnel never holds more than 2 x kBufferSize. EOF one way shuts down
// the send side of the other socket (half-close); the tunnel ends when both directions have.
// A read or write error (a reset) closes both sides at once.
//
// Draining: a departed instance's tunnels (removed from its set, or given weight 0 by discovery
// or an operator) stay until they close or the cluster's drain_timeout_ms since the departure
// passes; the gateway's own drain (SIGTERM) keeps open tunnels until they close or its deadline
// (Worker::closeAll). No deadline is a timer of its own: the worker's tick calls checkDeadline.
//
// Worker thread only. The session never keeps a ClusterRuntime pointer across a wait: a reload
// may replace the runtime, so it is looked up again by index and name (currentCluster()).

#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <list>
#include <memory>
#include <optional>
#include <string>

#include "common/time_source.h"
#include "proxy/downstream_session.h"
#include "proxy/upstream_host.h"

namespace switchyard::proxy {

class Worker;
class ClusterRuntime;
struct ListenerStats;

class TcpSession final : public DownstreamSession, public std::enable_shared_from_this<TcpSession> {
 public:
  // Bytes one direction of a tunnel holds at most.
  static constexpr std::size_t kBufferSize = 16 * 1024;

  TcpSession(Worker& worker, uint32_t listener_index, boost::asio::ip::tcp::socket socket);
  ~TcpSession() override;
  TcpSession(const TcpSession&) = delete;
  TcpSession& operator=(const TcpSession&) = delete;

  void start();
  // The gateway drains: a tunnel carries on until it closes or the drain deadline (closeAll).
  void drain() override {}
  // The worker's tick: connect timeout, idle timeout, a departed instance's drain deadline.
  void checkDeadline(TimePoint now) override;
  // Closes both sides now.
  void abort() override;

 private:
  enum class State { kConnecting, kRelaying, kClosed };

  // One way of the tunnel: bytes read from `from` wait in `buf` until written to the other side.
  struct Direction {
    std::unique_ptr<char[]> buf;
    uint64_t bytes = 0;  // relayed (written to the other side)
  };
  enum Way { kToUpstream = 0, kToClient = 1 };

  const std::string& listenerName() const;
  ClusterRuntime* currentCluster();

  void pickAndConnect();
  void onConnected(boost::system::error_code ec, uint64_t gen);
  // A connect that failed or timed out: counted against the host, then another try or the end.
  void onConnectFailure();
  void startRelay();
  void read(Way way);
  void onRead(Way way, boost::system::error_code ec, std::size_t n);
  void onWritten(Way way, boost::system::error_code ec, std::size_t n);
  // A drained or departed instance: when its tunnels must be closed (TimePoint::max(): never).
  TimePoint drainDeadline(TimePoint now);
  // Ends the tunnel: both sockets closed, figures and the access-log line written. `cause` is
  // empty for a tunnel that ended by itself (both directions closed).
  void finish(std::string_view cause);
  void releaseHost();
  boost::asio::ip::tcp::socket& socketOf(bool client);

  Worker& worker_;
  const uint32_t listener_index_;
  ListenerStats& stats_;
  boost::asio::ip::tcp::socket client_;
  std::string client_ip_;
  std::list<DownstreamSession*>::iterator registration_;
  State state_ = State::kConnecting;
  TimePoint started_{};
  TimePoint deadline_ = TimePoint::max();  // connect or idle timeout
  uint32_t idle_timeout_ms_ = 0;

  // The cluster, by position and name (see currentCluster()), and its settings as of the pick.
  int cluster_index_ = -1;
  std::string cluster_name_;
  std::optional<uint64_t> hash_;  // the client address's key, for ring_hash / maglev

  std::shared_ptr<UpstreamHost> host_;
  const UpstreamHost* excluded_ = nullptr;  // the host whose connect just failed
  std::unique_ptr<UpstreamConnection> up_;
  uint64_t up_gen_ = 0;  // bumped when up_ changes, so a stale connect handler knows to stop
  uint32_t attempts_ = 0;
  TimePoint picked_at_{};
  bool load_counted_ = false;       // host_->load.in_flight counts this tunnel
  bool in_flight_counted_ = false;  // host_->stats.in_flight counts this tunnel
  TunnelDrain drain_;               // a departed or weight-0 instance: when the tunnel must close

  Direction dir_[2];
  int open_directions_ = 2;  // directions whose EOF has not been passed on yet
};

}  // namespace switchyard::proxy
