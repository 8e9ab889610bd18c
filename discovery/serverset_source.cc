#include "discovery/serverset_source.h"

#include <spdlog/spdlog.h>
#include <zookeeper/zookeeper.h>

#include <set>
#include <utility>

namespace switchyard::discovery {

namespace asio = boost::asio;

namespace {
// A bad member is logged at most this often per reason; the counter counts every one.
constexpr auto kRejectLogInterval = std::chrono::seconds(10);
// After a failed read with the session still live (a timeout, a server switch), read again.
constexpr auto kRetryAfter = std::chrono::milliseconds(500);
// The first publication waits this long for host lookups; later ones never wait for them.
constexpr auto kFirstReadLookupGrace = std::chrono::seconds(2);
}  // namespace

ServerSetSource::ServerSetSource(asio::io_context& control, ZkSession& session,
                                 const config::Discovery& discovery, std::string cluster)
    : control_(control),
      session_(session),
      path_(discovery.serverset),
      endpoint_(discovery.endpoint),
      format_(discovery.format),
      cluster_(std::move(cluster)),
      resolver_(control),
      retry_timer_(control),
      grace_timer_(control) {}

ServerSetSource::~ServerSetSource() { stop(); }

void ServerSetSource::start(UpdateCallback on_update) {
  on_update_ = std::move(on_update);
  running_ = true;
  node_watcher_ = session_.addNodeWatcher(
      path_, [this](const ZkSession::NodeEvent& event) { onNodeEvent(event); });
  session_listener_ = session_.addSessionListener(
      [this](ZkSession::State state, bool new_session) { onSession(state, new_session); });
  // Otherwise the first kConnected (with new_session) starts the first read.
  if (session_.state() == ZkSession::State::kConnected) resync();
}

void ServerSetSource::stop() {
  if (!running_) return;
  running_ = false;
  on_update_ = nullptr;
  session_.removeNodeWatcher(node_watcher_);
  session_.removeSessionListener(session_listener_);
  retry_timer_.cancel();
  grace_timer_.cancel();
  resolver_.cancel();
  ++generation_;  // answers still on their way are dropped
}

SourceStatus ServerSetSource::status() const {
  SourceStatus status;
  status.rejected = rejected_;
  status.holding_previous = holding_previous_;
  status.members = members_.size();
  status.reads = reads_;
  if (!path_exists_ && ready_) status.detail = "path does not exist (yet); watching for it";
  return status;
}

void ServerSetSource::onSession(ZkSession::State state, bool new_session) {
  if (!running_) return;
  // A new session has none of our watches: read everything again. A reconnection within the
  // same session keeps them, unless a read failed while the connection was down.
  if (new_session || (state == ZkSession::State::kConnected && needs_resync_)) resync();
}

void ServerSetSource::onNodeEvent(const ZkSession::NodeEvent& event) {
  if (!running_) return;
  if (event.path == path_) {
    // Created (it appeared), deleted, children changed: the children list says it all. A data
    // change of the set's own node (armed by exists()) means nothing here.
    if (event.kind != ZkSession::EventKind::kDataChanged) readChildren();
    return;
  }
  const std::string name = event.path.substr(event.path.rfind('/') + 1);
  if (auto v = vectors_.find(name); v != vectors_.end()) {
    if (event.kind == ZkSession::EventKind::kDataChanged) {
      readVector(name);
    } else if (event.kind == ZkSession::EventKind::kDeleted) {
      vectors_.erase(v);
      settle();
    }
    return;
  }
  auto it = members_.find(name);
  if (it == members_.end()) return;
  if (event.kind == ZkSession::EventKind::kDataChanged) {
    readMember(name);
  } else if (event.kind == ZkSession::EventKind::kDeleted) {
    // The children event follows; acting on this one already saves a round trip.
    members_.erase(it);
    settle();
  }
}

void ServerSetSource::resync() {
  ++generation_;
  pending_ = 0;
  lookups_pending_ = 0;
  // Lookups on their way belong to the old generation and will be dropped: their members get
  // looked up again when their data is re-read.
  for (auto& [name, state] : members_) state.lookup = 0;
  needs_resync_ = false;
  reread_all_ = true;
  retry_timer_.cancel();
  readChildren();
}

void ServerSetSource::readChildren() {
  ++pending_;
  ++reads_;
  std::weak_ptr<char> alive = alive_;
  session_.getChildren(path_, true,
                       [this, alive, generation = generation_](int rc,
                                                               std::vector<std::string> children) {
                         if (alive.expired() || !running_ || generation != generation_) return;
                         --pending_;
                         onChildren(rc, std::move(children));
                       });
}

void ServerSetSource::onChildren(int rc, std::vector<std::string> children) {
  if (rc == ZNONODE) {
    if (path_exists_ || !ready_)
      spdlog::warn("cluster {}: {} does not exist (yet); watching for it", cluster_, describe());
    path_exists_ = false;
    members_.clear();
    vectors_.clear();
    // Arm a watch for its creation; if it appeared in between, read it now.
    ++pending_;
    std::weak_ptr<char> alive = alive_;
    session_.exists(path_, true, [this, alive, generation = generation_](int rc, bool exists) {
      if (alive.expired() || !running_ || generation != generation_) return;
      --pending_;
      if (rc != ZOK) return failed("watch for the path", rc);
      if (exists) return readChildren();
      settle();
    });
    return;
  }
  if (rc != ZOK) return failed("list the children", rc);
  if (!path_exists_ && ready_) spdlog::info("cluster {}: {} appeared", cluster_, describe());
  path_exists_ = true;

  std::set<std::string> listed;
  std::set<std::string> vectors;
  for (auto& child : children) {
    if (isMemberName(child, format_)) {
      listed.insert(std::move(child));
    } else if (format_ == config::ServerSetFormat::kServerSet && isWeightVectorName(child) &&
               child != kOperatorVectorName) {
      vectors.insert(std::move(child));
    }
  }
  std::erase_if(members_, [&](const auto& entry) { return !listed.contains(entry.first); });
  std::erase_if(vectors_, [&](const auto& entry) { return !vectors.contains(entry.first); });
  const bool reread_all = std::exchange(reread_all_, false);
  for (const auto& name : listed) {
    auto [it, added] = members_.try_emplace(name);
    if (added || reread_all) readMember(name);
  }
  for (const auto& name : vectors) {
    auto [it, added] = vectors_.try_emplace(name);
    if (added || reread_all) readVector(name);
  }
  settle();
}

void ServerSetSource::readMember(const std::string& name) {
  ++pending_;
  ++reads_;
  std::weak_ptr<char> alive = alive_;
  session_.getData(childPath(name), true,
                   [this, alive, name, generation = generation_](int rc, std::string data) {
                     if (alive.expired() || !running_ || generation != generation_) return;
                     --pending_;
                     onMemberData(name, rc, std::move(data));
                   });
}

void ServerSetSource::onMemberData(const std::string& name, int rc, std::string data) {
  auto it = members_.find(name);
  if (it == members_.end()) return settle();  // removed while the read was on its way
  if (rc == ZNONODE) {
    members_.erase(it);
    return settle();
  }
  if (rc != ZOK) return failed("read " + name, rc);
  MemberState& state = it->second;
  // Unchanged (a resync re-reads everything): nothing to decode or resolve again, unless its
  // lookup was lost to the resync.
  if (state.have_data && data == state.data && (!state.member || state.ip || state.lookup))
    return settle();
  state.data = std::move(data);
  state.have_data = true;
  state.ip.reset();
  state.lookup = 0;
  auto decoded = decodeMember(state.data, format_, endpoint_);
  if (auto* rejection = std::get_if<Rejection>(&decoded)) {
    state.member.reset();
    reject(name, rejection->reason, rejection->detail);
    return settle();
  }
  state.member = std::get<Member>(std::move(decoded));
  resolve(name, state);
  settle();
}

void ServerSetSource::readVector(const std::string& name) {
  ++pending_;
  ++reads_;
  std::weak_ptr<char> alive = alive_;
  session_.getData(childPath(name), true,
                   [this, alive, name, generation = generation_](int rc, std::string data) {
                     if (alive.expired() || !running_ || generation != generation_) return;
                     --pending_;
                     onVectorData(name, rc, std::move(data));
                   });
}

void ServerSetSource::onVectorData(const std::string& name, int rc, std::string data) {
  auto it = vectors_.find(name);
  if (it == vectors_.end()) return settle();
  if (rc == ZNONODE) {
    vectors_.erase(it);
    return settle();
  }
  if (rc != ZOK) return failed("read " + name, rc);
  VectorState& state = it->second;
  if (state.have_data && data == state.data) return settle();
  state.data = std::move(data);
  state.have_data = true;
  state.selectors.clear();
  auto decoded = decodeWeightVector(state.data);
  if (auto* rejection = std::get_if<Rejection>(&decoded)) {
    // A bad vector weighs nothing: the instances keep the weights of the other vectors.
    reject(name, rejection->reason, rejection->detail);
    return settle();
  }
  state.selectors = std::get<std::vector<WeightSelector>>(std::move(decoded));
  settle();
}

void ServerSetSource::resolve(const std::string& name, MemberState& state) {
  const HostPort& address = state.member->address;
  boost::system::error_code ec;
  auto ip = asio::ip::make_address(address.host, ec);
  if (!ec) {
    state.ip = ip;
    return;
  }
  // Aurora announces host names: look them up off the control thread (asio's resolver thread),
  // one member at a time, so one slow name delays only its own member: lookups hold back only
  // the first publication, and that only for kFirstReadLookupGrace.
  ++lookups_pending_;
  const uint64_t lookup = next_lookup_++;
  state.lookup = lookup;
  std::weak_ptr<char> alive = alive_;
  resolver_.async_resolve(
      address.host, std::to_string(address.port),
      [this, alive, name, lookup, generation = generation_](
          const boost::system::error_code& ec, asio::ip::tcp::resolver::results_type results) {
        if (alive.expired() || !running_ || generation != generation_) return;
        --lookups_pending_;
        auto it = members_.find(name);
        if (it == members_.end() || it->second.lookup != lookup) return settle();
        MemberState& state = it->second;
        state.lookup = 0;
        std::optional<asio::ip::address> found;
        for (const auto& entry : results) {
          const auto address = entry.endpoint().address();
          if (!found || (address.is_v4() && !found->is_v4())) found = address;
        }
        if (ec || !found) {
          reject(name, "unresolvable",
                 state.member->address.host + ": " + (ec ? ec.message() : "no address"));
        } else {
          state.ip = *found;
        }
        settle();
      });
}

void ServerSetSource::failed(const std::string& what, int rc) {
  spdlog::warn("cluster {}: {}: cannot {}: {}; keeping the last known set", cluster_, describe(),
               what, ZkSession::errorText(rc));
  needs_resync_ = true;
  // With the connection down, the next kConnected resyncs. With it up (a timeout), retry soon.
  if (session_.state() != ZkSession::State::kConnected) return;
  retry_timer_.expires_after(kRetryAfter);
  std::weak_ptr<char> alive = alive_;
  retry_timer_.async_wait([this, alive](const boost::system::error_code& ec) {
    if (ec || alive.expired() || !running_ || !needs_resync_) return;
    resync();
  });
}

void ServerSetSource::reject(const std::string& name, const std::string& reason,
                             const std::string& detail) {
  ++rejected_[reason];
  const TimePoint now = Clock::now();
  auto [it, first] = last_logged_.try_emplace(reason, now);
  if (!first && now - it->second < kRejectLogInterval) return;
  it->second = now;
  spdlog::warn("cluster {}: {}: skipping {} ({}): {} [{} {} so far]", cluster_, describe(), name,
               reason, detail, rejected_[reason], reason);
}

void ServerSetSource::settle() {
  if (pending_ > 0 || !running_) return;
  if (!ready_ && lookups_pending_ > 0 && !lookup_grace_over_) {
    if (!grace_armed_) {
      grace_armed_ = true;
      grace_timer_.expires_after(kFirstReadLookupGrace);
      std::weak_ptr<char> alive = alive_;
      grace_timer_.async_wait([this, alive](const boost::system::error_code& ec) {
        if (ec || alive.expired() || !running_) return;
        lookup_grace_over_ = true;
        settle();
      });
    }
    return;
  }
  InstanceSet set = currentSet();
  if (ready_ && set.instances.empty() && !published_.instances.empty()) {
    if (!holding_previous_) {
      holding_previous_ = true;
      spdlog::warn("cluster {}: {} became empty while the ZooKeeper session is healthy; keeping "
                   "its {} previous instance(s) routable until members return",
                   cluster_, describe(), published_.instances.size());
    }
    return;
  }
  if (holding_previous_) {
    holding_previous_ = false;
    spdlog::info("cluster {}: {}: members returned", cluster_, describe());
  }
  if (ready_ && set == published_) return;
  const bool first = !ready_;
  ready_ = true;
  published_ = set;
  spdlog::info("cluster {}: {}: {} instance(s){}", cluster_, describe(), set.instances.size(),
               first ? " (first read)" : "");
  // A copy: the callback may stop() this source, which clears on_update_.
  if (auto callback = on_update_) callback(std::move(set));
}

InstanceSet ServerSetSource::currentSet() const {
  InstanceSet set;
  std::vector<WeightSelector> selectors;
  for (const auto& [name, vector] : vectors_)
    selectors.insert(selectors.end(), vector.selectors.begin(), vector.selectors.end());
  for (const auto& [name, state] : members_) {
    if (!state.member || !state.ip) continue;
    // Any status but ALIVE drains the instance like a removal (docs/discovery-formats.md).
    if (state.member->status != MemberStatus::kAlive) continue;
    Instance instance;
    instance.address = state.member->address;
    instance.ip = *state.ip;
    instance.shard = state.member->shard;
    instance.weight = state.member->weight;
    if (!selectors.empty())
      instance.weight *= weightFor(state.member->address, name, state.member->shard, selectors,
                                   state.ip->to_string());
    instance.member = name;
    set.instances.push_back(std::move(instance));
  }
  // A writer that re-joined under a new znode name, its old node not yet gone, is one instance.
  set.normalize();
  return set;
}

std::string ServerSetSource::childPath(const std::string& name) const {
  return path_ == "/" ? "/" + name : path_ + "/" + name;
}

}  // namespace switchyard::discovery
