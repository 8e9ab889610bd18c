#pragma once
// A small synchronous ZooKeeper client for tests, over the C client (libzookeeper_mt): it writes
// the members a gateway reads, reads back what a gateway (or `switchyard announce`) writes, and
// forces session expiry. Every call blocks the calling test thread until ZooKeeper answers (the
// C client's own threads do the I/O); connect() waits until the session is established, with a
// bound. Errors are values: AssertionResult for operations with no value, Result<T> otherwise,
// each message naming the path and ZooKeeper's error (zerror).
// The C client's logging is silenced unless SWITCHYARD_ZK_CLIENT_LOG is set (to anything).
// Not thread-safe: one test thread owns a client.

#include <gtest/gtest.h>
#include <zookeeper/zookeeper.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include "common/result.h"

namespace switchyard::support {

enum class ZkNodeMode { kPersistent, kEphemeral, kPersistentSequential, kEphemeralSequential };

class ZkTestClient {
 public:
  ZkTestClient() = default;
  ~ZkTestClient();
  ZkTestClient(const ZkTestClient&) = delete;
  ZkTestClient& operator=(const ZkTestClient&) = delete;

  // Opens a session on connect_string ("h1:p1,h2:p2[/chroot]") and waits until it is connected.
  // The server clamps session_timeout to its [min, max] (ZooKeeperServerOptions).
  ::testing::AssertionResult connect(
      const std::string& connect_string,
      std::chrono::milliseconds session_timeout = std::chrono::seconds(4),
      std::chrono::milliseconds wait = std::chrono::seconds(10));
  // Closes the session (its ephemeral nodes go at once). Safe to call twice.
  void close();

  // The C client's state (ZOO_CONNECTED_STATE, ZOO_CONNECTING_STATE, ZOO_EXPIRED_SESSION_STATE...)
  // as last reported to the session watcher; 0 before connect().
  int state() const { return state_.load(); }
  bool connected() const { return state() == ZOO_CONNECTED_STATE; }
  // Waits until the session watcher reports `state` (e.g. ZOO_EXPIRED_SESSION_STATE).
  bool waitForState(int state, std::chrono::milliseconds timeout);

  // The session id and password (zoo_client_id), for expireSession() or to reattach.
  clientid_t clientId() const;
  int64_t sessionId() const { return clientId().client_id; }
  // The session timeout the server granted, in ms (0 when not connected).
  int negotiatedTimeoutMs() const;
  // "127.0.0.1:PORT" of the server this client is connected to (zoo_get_current_server); empty
  // when not connected.
  std::string currentServer() const;

  // mkdir -p: creates path and each missing ancestor as persistent nodes with empty data.
  ::testing::AssertionResult createPath(const std::string& path);
  // Creates path (its parent must exist) and returns the real name: with a sequential mode, the
  // path with ZooKeeper's 10-digit suffix.
  Result<std::string> create(const std::string& path, const std::string& data,
                             ZkNodeMode mode = ZkNodeMode::kPersistent);
  ::testing::AssertionResult set(const std::string& path, const std::string& data);
  // Deletes one node (any version); it must have no children.
  ::testing::AssertionResult remove(const std::string& path);
  // Deletes path and everything under it; success when it does not exist.
  ::testing::AssertionResult removeRecursive(const std::string& path);
  Result<bool> exists(const std::string& path);
  // Child names (not full paths), sorted.
  Result<std::vector<std::string>> children(const std::string& path);
  Result<std::string> get(const std::string& path);

  // Expires the session `id` on the server: opens a second handle with the same id and password,
  // waits until it is connected, and closes it (closing a session ends it for every handle). The
  // client that owned the session sees ZOO_EXPIRED_SESSION_STATE when it next talks to the
  // server. connect_string may name any server of the ensemble.
  static ::testing::AssertionResult expireSession(
      const std::string& connect_string, const clientid_t& id,
      std::chrono::milliseconds wait = std::chrono::seconds(10));

 private:
  static void watcher(zhandle_t* zh, int type, int state, const char* path, void* context);
  ::testing::AssertionResult failure(const char* what, const std::string& path, int rc) const;

  zhandle_t* zh_ = nullptr;
  std::atomic<int> state_{0};
  std::mutex mutex_;
  std::condition_variable changed_;
};

}  // namespace switchyard::support
