#include "proxy/h2_client_pool.h"

#include <algorithm>
#include <boost/asio/post.hpp>

#include "proxy/upstream_host.h"

namespace switchyard::proxy {

H2ClientPool::H2ClientPool(boost::asio::io_context& ctx, UpstreamHost& host)
    : ctx_(ctx), host_(host), alive_(std::make_shared<H2ClientPool*>(this)) {}

H2ClientPool::~H2ClientPool() {
  *alive_ = nullptr;
  auto conns = std::move(conns_);
  for (auto& c : conns) {
    c->setOnClosed(nullptr);
    c->close("instance forgotten");
    --host_.stats.connections_open;
  }
}

std::shared_ptr<H2ClientConnection> H2ClientPool::acquire(
    const H2ClientConnection::Options& options) {
  if (host_.departed()) return nullptr;
  H2ClientConnection* best = nullptr;
  std::size_t best_room = 0;
  for (auto& c : conns_) {
    if (c->settingsReceived()) known_max_streams_ = c->maxStreams();
    if (!c->canOpenStream()) continue;
    const std::size_t room = c->maxStreams() - c->activeStreams();
    if (room > best_room) {
      best = c.get();
      best_room = room;
    }
  }
  if (best) {
    for (auto& c : conns_)
      if (c.get() == best) return c;
  }
  if (host_.atConnectionLimit()) return nullptr;
  // Until its SETTINGS arrive, a new connection is assumed to allow what its siblings do: a
  // burst would otherwise be sent whole and the excess refused.
  auto opts = options;
  if (known_max_streams_ > 0) opts.initial_max_streams = known_max_streams_;
  ClientStream stream = options.tls ? ClientStream(boost::asio::ip::tcp::socket(ctx_), options.tls,
                                                   host_.endpoint().id)
                                    : ClientStream(boost::asio::ip::tcp::socket(ctx_));
  auto conn =
      std::make_shared<H2ClientConnection>(std::move(stream), host_.endpoint().address, opts);
  std::weak_ptr<H2ClientPool*> alive = alive_;
  H2ClientConnection* raw = conn.get();
  conn->setOnClosed([alive, raw] {
    if (auto p = alive.lock(); p && *p) (*p)->forget(raw);
  });
  conns_.push_back(conn);
  host_.connectionOpened();
  conn->connect();
  return conn;
}

void H2ClientPool::forget(H2ClientConnection* conn) {
  auto it =
      std::find_if(conns_.begin(), conns_.end(), [conn](const auto& c) { return c.get() == conn; });
  if (it == conns_.end()) return;
  if (conn->connectFailed()) ++host_.stats.connect_failures;
  --host_.stats.connections_open;
  // The connection may be inside its own callback: let it go after this turn.
  auto keep = std::move(*it);
  conns_.erase(it);
  boost::asio::post(ctx_, [keep] {});
}

void H2ClientPool::depart() {
  // goAway() may close a connection at once, which calls forget(): iterate over a copy.
  auto conns = conns_;
  for (auto& c : conns) c->goAway();
}

void H2ClientPool::closeIdleBefore(TimePoint cutoff) {
  auto conns = conns_;
  for (auto& c : conns)
    if (c->activeStreams() == 0 && c->idleSince() < cutoff) c->goAway();
}

}  // namespace switchyard::proxy
