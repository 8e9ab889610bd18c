#include "discovery/zk_session.h"

#include <spdlog/spdlog.h>
#include <zookeeper/zookeeper.h>

#include <boost/asio/post.hpp>
#include <cstring>
#include <utility>

namespace switchyard::discovery {

namespace asio = boost::asio;

// What the C client's threads may reach. They hold only weak pointers to it and post closures
// to `control`; a closure that finds the Core gone (the session was destroyed) does nothing.
struct ZkSession::Core {
  ZkSession* owner = nullptr;  // control thread only
  zhandle_t* handle = nullptr;
  uint64_t generation = 0;     // of `handle`; events of closed handles are ignored
  bool stopped = false;

  // Control thread: an event of the handle `of_generation`, posted by globalWatcher.
  void onEvent(uint64_t of_generation, int type, int zk_state, const std::string& path) {
    if (stopped || of_generation != generation) return;
    if (type == ZOO_SESSION_EVENT)
      owner->onSessionEvent(zk_state);
    else
      owner->onNodeEvent(type, path);
  }
};

struct ZkSession::Watchers {
  struct Entry {
    uint64_t id;
    NodeWatcher watcher;
  };
  std::unordered_map<std::string, std::vector<Entry>> by_path;
  std::unordered_map<uint64_t, std::string> path_of;
};

namespace {

// The global watcher's context, one per handle, freed after zookeeper_close() (which joins the
// client's threads, so nothing uses it afterwards).
struct HandleContext {
  std::weak_ptr<ZkSession::Core> core;
  asio::io_context* control;
  uint64_t generation;
};

// One asynchronous call: its completion (on the client's thread) copies the result and posts
// the user's callback to the control thread. Deleted by the completion, which the client calls
// exactly once, with ZCLOSING when the handle closes first.
template <typename Callback>
struct Pending {
  std::weak_ptr<ZkSession::Core> core;
  asio::io_context* control;
  Callback done;
};

template <typename Callback, typename... Args>
void deliver(Pending<Callback>* pending, Args&&... args) {
  std::unique_ptr<Pending<Callback>> owned(pending);
  asio::post(*owned->control, [core = std::move(owned->core), done = std::move(owned->done),
                               ... args = std::forward<Args>(args)]() mutable {
    auto alive = core.lock();
    if (!alive || alive->stopped) return;
    done(std::move(args)...);
  });
}

std::vector<std::string> toStrings(const String_vector* strings) {
  std::vector<std::string> out;
  if (!strings) return out;
  out.reserve(strings->count);
  for (int32_t i = 0; i < strings->count; ++i) out.emplace_back(strings->data[i]);
  return out;
}

// The client's own log lines (connection attempts, server switches) are for debugging only: the
// session's state changes are logged here, once each, at the right level.
void clientLog(const char* message) { spdlog::debug("zookeeper client: {}", message); }

}  // namespace

// The C client calls this on its completion thread for session and node events.
static void globalWatcher(zhandle_t*, int type, int zk_state, const char* path, void* context) {
  auto* handle_context = static_cast<HandleContext*>(context);
  asio::post(*handle_context->control,
             [core = handle_context->core, generation = handle_context->generation, type,
              zk_state, node = std::string(path ? path : "")]() {
               if (auto alive = core.lock()) alive->onEvent(generation, type, zk_state, node);
             });
}

ZkSession::ZkSession(asio::io_context& control, Options options)
    : control_(control),
      options_(std::move(options)),
      core_(std::make_shared<Core>()),
      retry_timer_(control),
      watchers_(std::make_unique<Watchers>()) {
  core_->owner = this;
}

ZkSession::~ZkSession() { stop(); }

void ZkSession::start() {
  if (started_) return;
  started_ = true;
  // Process-wide, but the only setting that keeps the client's INFO chatter off stderr before
  // a handle (and its log callback) exists.
  zoo_set_debug_level(ZOO_LOG_LEVEL_WARN);
  openHandle();
}

void ZkSession::stop() {
  if (core_->stopped) return;
  core_->stopped = true;
  retry_timer_.cancel();
  closeHandle();
  state_ = State::kClosed;
}

void ZkSession::openHandle() {
  if (core_->stopped) return;
  ++core_->generation;
  auto* context = new HandleContext{core_, &control_, core_->generation};
  zhandle_t* handle =
      zookeeper_init2(options_.servers.c_str(), globalWatcher,
                      static_cast<int>(options_.session_timeout.count()), nullptr, context, 0,
                      clientLog);
  session_announced_ = false;
  if (!handle) {
    // A connect string none of whose hosts resolves, or no memory: try again shortly.
    delete context;
    spdlog::error("zookeeper {}: cannot open a session: {}; retrying in 1 s", options_.servers,
                  std::strerror(errno));
    return openHandleLater();
  }
  core_->handle = handle;
  spdlog::info("zookeeper {}: connecting (session timeout {} ms)", options_.servers,
               options_.session_timeout.count());
}

void ZkSession::openHandleLater() {
  retry_timer_.expires_after(std::chrono::seconds(1));
  std::weak_ptr<Core> core = core_;
  retry_timer_.async_wait([this, core](const boost::system::error_code& ec) {
    auto alive = core.lock();
    if (ec || !alive || alive->stopped) return;
    openHandle();
  });
}

void ZkSession::closeHandle() {
  zhandle_t* handle = std::exchange(core_->handle, nullptr);
  if (!handle) return;
  auto* context = static_cast<HandleContext*>(const_cast<void*>(zoo_get_context(handle)));
  // Joins the client's threads; pending completions are called (ZCLOSING) and post nothing
  // that will run against a newer handle's state (they carry their own callbacks only).
  zookeeper_close(handle);
  delete context;
}

void ZkSession::onSessionEvent(int zk_state) {
  if (zk_state == ZOO_CONNECTED_STATE) {
    if (!session_announced_) {
      session_announced_ = true;
      ++figures_.sessions_established;
      spdlog::info("zookeeper {}: session {} established (server {})", options_.servers,
                   sessionIdText(), zoo_get_current_server(core_->handle));
      setState(State::kConnected, true);
    } else {
      spdlog::info("zookeeper {}: reconnected, session {} kept", options_.servers,
                   sessionIdText());
      setState(State::kConnected, false);
    }
    return;
  }
  if (zk_state == ZOO_EXPIRED_SESSION_STATE) {
    ++figures_.expirations;
    spdlog::warn("zookeeper {}: session {} expired; opening a new one (serving the last known "
                 "sets meanwhile)",
                 options_.servers, sessionIdText());
    setState(State::kExpired, false);
    closeHandle();
    openHandle();
    return;
  }
  if (zk_state == ZOO_AUTH_FAILED_STATE) {
    spdlog::error("zookeeper {}: authentication failed; retrying in 1 s", options_.servers);
    closeHandle();
    setState(State::kExpired, false);
    return openHandleLater();
  }
  // CONNECTING, ASSOCIATING, NOTCONNECTED: the connection is gone, the session may live on.
  if (state_ == State::kConnected) {
    ++figures_.disconnections;
    spdlog::warn("zookeeper {}: connection lost; session {} kept for up to {} ms, serving the "
                 "last known sets",
                 options_.servers, sessionIdText(), options_.session_timeout.count());
    setState(State::kSuspended, false);
  }
}

void ZkSession::setState(State state, bool new_session) {
  state_ = state;
  // Copies: a listener may add or remove listeners.
  std::vector<SessionListener> listeners;
  listeners.reserve(session_listeners_.size());
  for (const auto& [id, listener] : session_listeners_) listeners.push_back(listener);
  for (const auto& listener : listeners) {
    listener(state, new_session);
    if (core_->stopped) return;
  }
}

void ZkSession::onNodeEvent(int type, const std::string& path) {
  NodeEvent event;
  if (type == ZOO_CREATED_EVENT)
    event.kind = EventKind::kCreated;
  else if (type == ZOO_DELETED_EVENT)
    event.kind = EventKind::kDeleted;
  else if (type == ZOO_CHANGED_EVENT)
    event.kind = EventKind::kDataChanged;
  else if (type == ZOO_CHILD_EVENT)
    event.kind = EventKind::kChildrenChanged;
  else
    return;  // ZOO_NOTWATCHING_EVENT: nothing to do
  event.path = path;

  std::vector<NodeWatcher> targets;
  auto collect = [&](const std::string& key) {
    auto it = watchers_->by_path.find(key);
    if (it == watchers_->by_path.end()) return;
    for (const auto& entry : it->second) targets.push_back(entry.watcher);
  };
  collect(path);
  const auto slash = path.rfind('/');
  if (slash != std::string::npos && slash > 0) collect(path.substr(0, slash));
  if (slash == 0 && path.size() > 1) collect("/");
  for (const auto& watcher : targets) {
    watcher(event);
    if (core_->stopped) return;
  }
}

std::string ZkSession::sessionIdText() const {
  if (!core_->handle) return {};
  const clientid_t* id = zoo_client_id(core_->handle);
  if (!id || id->client_id == 0) return {};
  return fmt::format("0x{:x}", static_cast<uint64_t>(id->client_id));
}

bool ZkSession::sessionCredentials(int64_t& id, std::string& password) const {
  if (!core_->handle || state_ != State::kConnected) return false;
  const clientid_t* client = zoo_client_id(core_->handle);
  if (!client || client->client_id == 0) return false;
  id = client->client_id;
  password.assign(client->passwd, sizeof(client->passwd));
  return true;
}

uint64_t ZkSession::addSessionListener(SessionListener listener) {
  const uint64_t id = next_id_++;
  session_listeners_.emplace(id, std::move(listener));
  return id;
}

void ZkSession::removeSessionListener(uint64_t id) { session_listeners_.erase(id); }

uint64_t ZkSession::addNodeWatcher(const std::string& path, NodeWatcher watcher) {
  const uint64_t id = next_id_++;
  watchers_->by_path[path].push_back({id, std::move(watcher)});
  watchers_->path_of.emplace(id, path);
  return id;
}

void ZkSession::removeNodeWatcher(uint64_t id) {
  auto it = watchers_->path_of.find(id);
  if (it == watchers_->path_of.end()) return;
  auto& entries = watchers_->by_path[it->second];
  std::erase_if(entries, [id](const Watchers::Entry& entry) { return entry.id == id; });
  if (entries.empty()) watchers_->by_path.erase(it->second);
  watchers_->path_of.erase(it);
}

template <typename Callback, typename... Args>
void ZkSession::failLater(Callback done, Args... args) {
  std::weak_ptr<Core> core = core_;
  asio::post(control_, [core, done = std::move(done), args...]() mutable {
    auto alive = core.lock();
    if (!alive || alive->stopped) return;
    done(std::move(args)...);
  });
}

void ZkSession::getChildren(const std::string& path, bool watch, ChildrenCallback done) {
  if (!core_->handle) return failLater(std::move(done), int{ZINVALIDSTATE},
                                       std::vector<std::string>{});
  auto* pending = new Pending<ChildrenCallback>{core_, &control_, std::move(done)};
  const int rc = zoo_aget_children(
      core_->handle, path.c_str(), watch ? 1 : 0,
      [](int rc, const String_vector* strings, const void* data) {
        auto* p = static_cast<Pending<ChildrenCallback>*>(const_cast<void*>(data));
        deliver(p, int{rc}, rc == ZOK ? toStrings(strings) : std::vector<std::string>{});
      },
      pending);
  if (rc != ZOK) {
    std::unique_ptr<Pending<ChildrenCallback>> owned(pending);
    failLater(std::move(owned->done), int{rc}, std::vector<std::string>{});
  }
}

void ZkSession::getData(const std::string& path, bool watch, DataCallback done) {
  if (!core_->handle) return failLater(std::move(done), int{ZINVALIDSTATE}, std::string{});
  auto* pending = new Pending<DataCallback>{core_, &control_, std::move(done)};
  const int rc = zoo_aget(
      core_->handle, path.c_str(), watch ? 1 : 0,
      [](int rc, const char* value, int length, const Stat*, const void* data) {
        auto* p = static_cast<Pending<DataCallback>*>(const_cast<void*>(data));
        std::string bytes;
        if (rc == ZOK && value && length > 0) bytes.assign(value, static_cast<size_t>(length));
        deliver(p, int{rc}, std::move(bytes));
      },
      pending);
  if (rc != ZOK) {
    std::unique_ptr<Pending<DataCallback>> owned(pending);
    failLater(std::move(owned->done), int{rc}, std::string{});
  }
}

void ZkSession::getDataVersioned(const std::string& path, bool watch, VersionedDataCallback done) {
  if (!core_->handle)
    return failLater(std::move(done), int{ZINVALIDSTATE}, std::string{}, int32_t{-1});
  auto* pending = new Pending<VersionedDataCallback>{core_, &control_, std::move(done)};
  const int rc = zoo_aget(
      core_->handle, path.c_str(), watch ? 1 : 0,
      [](int rc, const char* value, int length, const Stat* stat, const void* data) {
        auto* p = static_cast<Pending<VersionedDataCallback>*>(const_cast<void*>(data));
        std::string bytes;
        if (rc == ZOK && value && length > 0) bytes.assign(value, static_cast<size_t>(length));
        deliver(p, int{rc}, std::move(bytes), int32_t{rc == ZOK && stat ? stat->version : -1});
      },
      pending);
  if (rc != ZOK) {
    std::unique_ptr<Pending<VersionedDataCallback>> owned(pending);
    failLater(std::move(owned->done), int{rc}, std::string{}, int32_t{-1});
  }
}

void ZkSession::exists(const std::string& path, bool watch, ExistsCallback done) {
  if (!core_->handle) return failLater(std::move(done), int{ZINVALIDSTATE}, false);
  auto* pending = new Pending<ExistsCallback>{core_, &control_, std::move(done)};
  const int rc = zoo_aexists(
      core_->handle, path.c_str(), watch ? 1 : 0,
      [](int rc, const Stat*, const void* data) {
        auto* p = static_cast<Pending<ExistsCallback>*>(const_cast<void*>(data));
        // ZNONODE is an answer here, not a failure: the watch (if asked) is armed either way.
        deliver(p, rc == ZNONODE ? int{ZOK} : int{rc}, rc == ZOK);
      },
      pending);
  if (rc != ZOK) {
    std::unique_ptr<Pending<ExistsCallback>> owned(pending);
    failLater(std::move(owned->done), int{rc}, false);
  }
}

void ZkSession::create(const std::string& path, const std::string& data, bool ephemeral,
                       bool sequential, CreateCallback done) {
  if (!core_->handle) return failLater(std::move(done), int{ZINVALIDSTATE}, std::string{});
  int mode = 0;
  if (ephemeral) mode |= ZOO_EPHEMERAL;
  if (sequential) mode |= ZOO_SEQUENCE;
  auto* pending = new Pending<CreateCallback>{core_, &control_, std::move(done)};
  const int rc = zoo_acreate(
      core_->handle, path.c_str(), data.data(), static_cast<int>(data.size()),
      &ZOO_OPEN_ACL_UNSAFE, mode,
      [](int rc, const char* created, const void* data) {
        auto* p = static_cast<Pending<CreateCallback>*>(const_cast<void*>(data));
        deliver(p, int{rc}, std::string(rc == ZOK && created ? created : ""));
      },
      pending);
  if (rc != ZOK) {
    std::unique_ptr<Pending<CreateCallback>> owned(pending);
    failLater(std::move(owned->done), int{rc}, std::string{});
  }
}

void ZkSession::remove(const std::string& path, DoneCallback done) {
  if (!core_->handle) return failLater(std::move(done), int{ZINVALIDSTATE});
  auto* pending = new Pending<DoneCallback>{core_, &control_, std::move(done)};
  const int rc = zoo_adelete(
      core_->handle, path.c_str(), -1,
      [](int rc, const void* data) {
        deliver(static_cast<Pending<DoneCallback>*>(const_cast<void*>(data)), int{rc});
      },
      pending);
  if (rc != ZOK) {
    std::unique_ptr<Pending<DoneCallback>> owned(pending);
    failLater(std::move(owned->done), int{rc});
  }
}

void ZkSession::setData(const std::string& path, const std::string& data, DoneCallback done) {
  setData(path, data, -1, std::move(done));
}

void ZkSession::setData(const std::string& path, const std::string& data, int32_t version,
                        DoneCallback done) {
  if (!core_->handle) return failLater(std::move(done), int{ZINVALIDSTATE});
  auto* pending = new Pending<DoneCallback>{core_, &control_, std::move(done)};
  const int rc = zoo_aset(
      core_->handle, path.c_str(), data.data(), static_cast<int>(data.size()), version,
      [](int rc, const Stat*, const void* data) {
        deliver(static_cast<Pending<DoneCallback>*>(const_cast<void*>(data)), int{rc});
      },
      pending);
  if (rc != ZOK) {
    std::unique_ptr<Pending<DoneCallback>> owned(pending);
    failLater(std::move(owned->done), int{rc});
  }
}

const char* ZkSession::toString(State state) {
  switch (state) {
    case State::kConnecting: return "connecting";
    case State::kConnected: return "connected";
    case State::kSuspended: return "suspended";
    case State::kExpired: return "expired";
    case State::kClosed: return "closed";
  }
  return "unknown";
}

std::string ZkSession::errorText(int rc) { return zerror(rc); }

}  // namespace switchyard::discovery
