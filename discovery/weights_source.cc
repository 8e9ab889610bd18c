#include "discovery/weights_source.h"

#include <spdlog/spdlog.h>
#include <zookeeper/zookeeper.h>

namespace switchyard::discovery {

namespace {
// After a failed read with the session still connected (a timeout), read again.
constexpr auto kRetryAfter = std::chrono::milliseconds(500);
}  // namespace

WeightsSource::WeightsSource(boost::asio::io_context& control, ZkSession& session,
                             ChangeCallback on_change)
    : session_(session), on_change_(std::move(on_change)), retry_timer_(control) {
  session_listener_ = session_.addSessionListener(
      [this](ZkSession::State state, bool new_session) { onSession(state, new_session); });
}

WeightsSource::~WeightsSource() { stop(); }

void WeightsSource::stop() {
  if (!running_) return;
  running_ = false;
  retry_timer_.cancel();
  session_.removeSessionListener(session_listener_);
  for (auto& [cluster, node] : nodes_) session_.removeNodeWatcher(node.watcher);
  nodes_.clear();
}

void WeightsSource::watch(const std::map<std::string, std::string>& paths) {
  if (!running_) return;
  for (auto it = nodes_.begin(); it != nodes_.end();) {
    auto wanted = paths.find(it->first);
    if (wanted != paths.end() && wanted->second == it->second.path) {
      ++it;
      continue;
    }
    session_.removeNodeWatcher(it->second.watcher);
    it = nodes_.erase(it);
  }
  for (const auto& [cluster, path] : paths) {
    auto [it, added] = nodes_.try_emplace(cluster);
    if (!added) continue;
    it->second.path = path;
    it->second.watcher = session_.addNodeWatcher(
        path, [this, cluster = cluster, path = path](const ZkSession::NodeEvent& event) {
          // Events of the node's children (its parent's watcher may be ours) mean nothing here.
          if (!running_ || event.path != path) return;
          read(cluster);
        });
    if (session_.state() == ZkSession::State::kConnected) read(cluster);
  }
}

std::optional<std::string> WeightsSource::pathOf(const std::string& cluster) const {
  auto it = nodes_.find(cluster);
  if (it == nodes_.end()) return std::nullopt;
  return it->second.path;
}

void WeightsSource::onSession(ZkSession::State state, bool new_session) {
  if (!running_ || state != ZkSession::State::kConnected) return;
  // A new session has none of our watches: read (and watch) every node again. A reconnection
  // within the session keeps them, except for the nodes whose read failed.
  for (const auto& [cluster, node] : nodes_)
    if (new_session || node.failed) read(cluster);
}

void WeightsSource::read(const std::string& cluster) {
  auto it = nodes_.find(cluster);
  if (it == nodes_.end()) return;
  const uint64_t generation = ++it->second.generation;
  it->second.failed = false;
  std::weak_ptr<char> alive = alive_;
  session_.getData(it->second.path, true,
                   [this, alive, cluster, generation](int rc, std::string data) {
                     if (alive.expired() || !running_) return;
                     onData(cluster, generation, rc, std::move(data));
                   });
}

void WeightsSource::onData(const std::string& cluster, uint64_t generation, int rc,
                           std::string data) {
  auto it = nodes_.find(cluster);
  if (it == nodes_.end() || it->second.generation != generation) return;
  if (rc == ZOK) return on_change_(cluster, data);
  if (rc != ZNONODE) {
    spdlog::warn("operator weights of cluster {}: cannot read {}: {}; keeping the last ones",
                 cluster, it->second.path, ZkSession::errorText(rc));
    it->second.failed = true;
    return readFailed();
  }
  on_change_(cluster, std::nullopt);
  // Watch for its creation; if it appeared in between, read it.
  std::weak_ptr<char> alive = alive_;
  session_.exists(it->second.path, true, [this, alive, cluster, generation](int rc, bool exists) {
    if (alive.expired() || !running_) return;
    auto it = nodes_.find(cluster);
    if (it == nodes_.end() || it->second.generation != generation) return;
    if (rc == ZOK && exists) return read(cluster);
    if (rc != ZOK) {
      it->second.failed = true;
      readFailed();
    }
  });
}

void WeightsSource::readFailed() {
  // Disconnected: the reconnection reads the failed nodes (onSession). Connected: soon.
  if (session_.state() != ZkSession::State::kConnected) return;
  std::weak_ptr<char> alive = alive_;
  retry_timer_.expires_after(kRetryAfter);
  retry_timer_.async_wait([this, alive](const boost::system::error_code& ec) {
    if (ec || alive.expired() || !running_) return;
    for (const auto& [cluster, node] : nodes_)
      if (node.failed) read(cluster);
  });
}

void WeightsSource::update(const std::string& cluster, Modify modify, UpdateCallback done) {
  auto it = nodes_.find(cluster);
  if (it == nodes_.end()) return done(ZNONODE, std::string());
  updateAttempt(it->second.path, std::move(modify), std::move(done), 1);
}

void WeightsSource::updateAttempt(const std::string& path, Modify modify, UpdateCallback done,
                                  int attempt) {
  std::weak_ptr<char> alive = alive_;
  // Another gateway's write between our read and our write: read again, apply again.
  auto lostRace = [this, alive, path, modify, done, attempt](int rc) {
    if (alive.expired() || !running_) return;
    if (attempt >= kMaxUpdateAttempts) {
      spdlog::warn("operator weights: {}: still written by others after {} attempts", path,
                   attempt);
      return done(rc, std::string());
    }
    updateAttempt(path, modify, done, attempt + 1);
  };
  session_.getDataVersioned(
      path, false,
      [this, alive, path, modify, done, lostRace](int rc, std::string current, int32_t version) {
        if (alive.expired() || !running_) return;
        if (rc != ZOK && rc != ZNONODE) return done(rc, std::string());
        auto next = std::make_shared<const std::string>(
            modify(rc == ZOK ? std::optional<std::string>(std::move(current)) : std::nullopt));
        auto written = [alive, next, done, lostRace](int rc) {
          if (alive.expired()) return;
          if (rc == ZBADVERSION || rc == ZNODEEXISTS) return lostRace(rc);
          done(rc, rc == ZOK ? *next : std::string());
        };
        if (rc == ZNONODE) return createWithParents(path, *next, true, std::move(written));
        session_.setData(path, *next, version, std::move(written));
      });
}

void WeightsSource::createWithParents(const std::string& path, std::string data, bool target,
                                      WriteCallback done) {
  std::weak_ptr<char> alive = alive_;
  session_.create(path, data, false, false,
                  [this, alive, path, data, target, done](int rc, std::string) mutable {
                    if (alive.expired() || !running_) return;
                    if (rc == ZOK) return done(ZOK);
                    if (rc == ZNODEEXISTS && !target) return done(ZOK);  // a parent: fine
                    if (rc == ZNODEEXISTS) return done(rc);  // created meanwhile: read it
                    const auto slash = path.rfind('/');
                    if (rc != ZNONODE || slash == 0 || slash == std::string::npos) return done(rc);
                    // The parent is missing: create it (empty), then this node.
                    createWithParents(path.substr(0, slash), "", false,
                                      [this, alive, path, data, target, done](int rc) mutable {
                                        if (alive.expired() || !running_) return;
                                        if (rc != ZOK) return done(rc);
                                        createWithParents(path, std::move(data), target,
                                                          std::move(done));
                                      });
                  });
}

}  // namespace switchyard::discovery
