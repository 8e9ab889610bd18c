#include "proxy/upstream_host.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

#include "proxy/h2_client_pool.h"
#include "proxy/tls_context_set.h"

namespace switchyard::proxy {

std::unique_ptr<UpstreamConnection> UpstreamConnection::open(boost::asio::io_context& ctx,
                                                             const TlsContextSet* tls,
                                                             const config::Cluster& c,
                                                             const routing::Endpoint& endpoint) {
  if (!c.usesTls()) return std::make_unique<UpstreamConnection>(ctx);
  auto context = tls ? tls->cluster(c.name) : nullptr;
  if (!context) return nullptr;
  return std::make_unique<UpstreamConnection>(ctx, std::move(context), endpoint.id);
}

namespace {
constexpr int kKeepaliveIdleS = 10;
constexpr int kKeepaliveIntervalS = 5;
constexpr int kKeepaliveCount = 3;
constexpr unsigned kUserTimeoutMs = 30000;
}  // namespace

void tuneUpstreamSocket(boost::asio::ip::tcp::socket& socket) {
  boost::system::error_code ignored;  // an option the kernel refuses only loses the safeguard
  socket.set_option(boost::asio::ip::tcp::no_delay(true), ignored);
  socket.set_option(boost::asio::socket_base::keep_alive(true), ignored);
  const int fd = socket.native_handle();
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &kKeepaliveIdleS, sizeof kKeepaliveIdleS);
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &kKeepaliveIntervalS, sizeof kKeepaliveIntervalS);
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &kKeepaliveCount, sizeof kKeepaliveCount);
  ::setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &kUserTimeoutMs, sizeof kUserTimeoutMs);
}

UpstreamHost::UpstreamHost(const routing::Endpoint& endpoint, uint32_t max_connections)
    : endpoint_(endpoint), max_connections_(max_connections) {
  stats.shard = endpoint.shard;
}

UpstreamHost::~UpstreamHost() = default;

std::unique_ptr<UpstreamConnection> UpstreamHost::takeIdle() {
  while (!idle_.empty()) {
    auto conn = std::move(idle_.back());
    idle_.pop_back();
    // The upstream may have closed an idle connection (its keep-alive timeout); a peek tells
    // without consuming anything. Data here would be a protocol error, so drop it too.
    char byte;
    ssize_t n = ::recv(conn->stream.socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return conn;
    discard(std::move(conn));
  }
  return nullptr;
}

void UpstreamHost::release(std::unique_ptr<UpstreamConnection> conn, bool reusable, TimePoint now) {
  if (!reusable || departed_ || conn->in.size() != 0) {
    discard(std::move(conn));
    return;
  }
  conn->reused = true;
  conn->idle_since = now;
  idle_.push_back(std::move(conn));
}

void UpstreamHost::discard(std::unique_ptr<UpstreamConnection> conn) {
  if (!conn) return;
  conn->stream.close();
  --stats.connections_open;
}

void UpstreamHost::depart() {
  departed_ = true;
  stats.departed = true;
  if (h2) h2->depart();
  while (!idle_.empty()) {
    discard(std::move(idle_.back()));
    idle_.pop_back();
  }
}

void UpstreamHost::closeIdleBefore(TimePoint cutoff) {
  if (h2) h2->closeIdleBefore(cutoff);
  size_t keep = 0;
  for (size_t i = 0; i < idle_.size(); ++i) {
    if (idle_[i]->idle_since < cutoff)
      discard(std::move(idle_[i]));
    else
      idle_[keep++] = std::move(idle_[i]);
  }
  idle_.resize(keep);
}

TimePoint TunnelDrain::deadline(const UpstreamHost& host, const routing::ClusterSnapshot* cluster,
                                TimePoint now) {
  const TimePoint departed = host.departed() ? host.drain_deadline : TimePoint::max();
  if (cluster && cluster->version != seen_version) {
    seen_version = cluster->version;
    const auto& eps = cluster->endpoints;
    const std::string& id = host.endpoint().id;
    auto it =
        std::lower_bound(eps.begin(), eps.end(), id,
                         [](const routing::Endpoint& e, const std::string& k) { return e.id < k; });
    const bool zero = it != eps.end() && it->id == id && it->weight <= 0;
    if (!zero)
      weight_deadline = TimePoint::max();
    else if (weight_deadline == TimePoint::max())
      weight_deadline = now + std::chrono::milliseconds(cluster->config->drain_timeout_ms);
  }
  return std::min(departed, weight_deadline);
}

}  // namespace switchyard::proxy
