#pragma once
// One ZooKeeper session (the C client, libzookeeper-mt), owned by the control thread.
//
// The C client runs two threads of its own (network I/O and completions). Their callbacks do
// nothing but copy the result and post it onto the control io_context, so every callback of this
// class runs on the control thread and users need no locks.
//
// Watches are the session's business, not the caller's: a read asked with `watch = true` arms a
// ZooKeeper watch, and when it fires the event goes to the NodeWatcher registered for the event's
// path or, failing that, for its parent (a ServerSet registers its own path and hears about its
// children's data too). ZooKeeper watches fire once: the watcher re-reads with watch = true.
//
// Reconnection: the C client moves between the servers of the connect string by itself and keeps
// the session (and its watches) through short disconnections. When the session expires, this
// class closes the dead handle, opens a new one, and tells every SessionListener with
// `new_session = true` once it is connected: watches are gone, so listeners read everything again
// and re-arm them (and re-create their ephemeral nodes). While disconnected or expired nothing is
// called: the callers keep what they last read (fail static).

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace switchyard::discovery {

class ZkSession {
 public:
  enum class State {
    kConnecting,    // no session yet (first connection, or a new one after an expiry)
    kConnected,     // the session is live
    kSuspended,     // connection lost; the session may still be alive on the servers
    kExpired,       // the servers dropped the session; a new one is being opened
    kClosed,        // stop() was called
  };

  enum class EventKind { kCreated, kDeleted, kDataChanged, kChildrenChanged };
  struct NodeEvent {
    EventKind kind;
    std::string path;
  };

  using NodeWatcher = std::function<void(const NodeEvent&)>;
  // `new_session` is true on the first kConnected of a session: whatever was read before (with
  // its watches) belongs to a dead session.
  using SessionListener = std::function<void(State state, bool new_session)>;

  // Results. `rc` is a ZooKeeper code (ZOK, ZNONODE, ZNODEEXISTS, ZCONNECTIONLOSS, ZCLOSING...).
  using ChildrenCallback = std::function<void(int rc, std::vector<std::string> children)>;
  using DataCallback = std::function<void(int rc, std::string data)>;
  // `version` is the node's data version (its Stat's), for a versioned setData.
  using VersionedDataCallback = std::function<void(int rc, std::string data, int32_t version)>;
  using ExistsCallback = std::function<void(int rc, bool exists)>;
  using CreateCallback = std::function<void(int rc, std::string created_path)>;
  using DoneCallback = std::function<void(int rc)>;

  struct Options {
    std::string servers;  // "h1:2181,h2:2181/chroot"
    std::chrono::milliseconds session_timeout{10000};
  };

  struct Figures {
    uint64_t sessions_established = 0;  // connected with a new session (1 after a clean start)
    uint64_t expirations = 0;
    uint64_t disconnections = 0;        // connection losses while the session was live
  };

  ZkSession(boost::asio::io_context& control, Options options);
  // Closes the session (its ephemeral nodes vanish at once); no callback runs afterwards.
  ~ZkSession();
  ZkSession(const ZkSession&) = delete;
  ZkSession& operator=(const ZkSession&) = delete;

  // Control thread, like everything below. Opens the first handle; listeners hear the states.
  void start();
  // Closes the handle; pending operations complete with ZCLOSING... and are dropped unheard.
  void stop();

  State state() const { return state_; }
  const Figures& figures() const { return figures_; }
  const Options& options() const { return options_; }
  // "0x..." of the live session, or empty.
  std::string sessionIdText() const;
  // The live session's id and password (tests force an expiry with them); false when none.
  bool sessionCredentials(int64_t& id, std::string& password) const;

  uint64_t addSessionListener(SessionListener listener);
  void removeSessionListener(uint64_t id);
  // Events for `path` and for its direct children go to `watcher`; several may share a path.
  uint64_t addNodeWatcher(const std::string& path, NodeWatcher watcher);
  void removeNodeWatcher(uint64_t id);

  // Asynchronous operations. The callback runs on the control thread, later, never from inside
  // the call, and never after stop() or destruction. Without a live handle they fail with
  // ZINVALIDSTATE (asynchronously too).
  void getChildren(const std::string& path, bool watch, ChildrenCallback done);
  void getData(const std::string& path, bool watch, DataCallback done);
  // getData with the version the data had when read (read-modify-write, with setData below).
  void getDataVersioned(const std::string& path, bool watch, VersionedDataCallback done);
  void exists(const std::string& path, bool watch, ExistsCallback done);
  // `ephemeral`/`sequential` select the create mode; the callback gets the real name.
  void create(const std::string& path, const std::string& data, bool ephemeral, bool sequential,
              CreateCallback done);
  void remove(const std::string& path, DoneCallback done);
  void setData(const std::string& path, const std::string& data, DoneCallback done);
  // Writes only if the node's data version is still `version` (else ZBADVERSION: someone wrote
  // since it was read); -1 writes whatever the version, as the overload above.
  void setData(const std::string& path, const std::string& data, int32_t version,
               DoneCallback done);

  static const char* toString(State state);
  static std::string errorText(int rc);

 // Implementation detail, public only so that the C callbacks in the .cc can name it.
  struct Core;

 private:
  struct Watchers;

  void openHandle();
  void openHandleLater();  // in 1 s: init failed (no host resolves) or authentication failed
  void closeHandle();
  void onSessionEvent(int zk_state);
  void onNodeEvent(int type, const std::string& path);
  void setState(State state, bool new_session);
  template <typename Callback, typename... Args>
  void failLater(Callback done, Args... args);

  boost::asio::io_context& control_;
  Options options_;
  std::shared_ptr<Core> core_;  // what the C client's threads reach, through weak pointers
  boost::asio::steady_timer retry_timer_;
  State state_ = State::kConnecting;
  bool started_ = false;
  bool session_announced_ = false;  // listeners heard new_session for the current handle
  Figures figures_;
  uint64_t next_id_ = 1;
  std::unordered_map<uint64_t, SessionListener> session_listeners_;
  std::unique_ptr<Watchers> watchers_;
};

}  // namespace switchyard::discovery
