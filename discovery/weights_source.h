#pragma once
// Operator weights shared through ZooKeeper (docs/discovery-formats.md, "Operator weights"):
// one persistent node per cluster (weights.zookeeper_path/CLUSTER, or the ServerSet's
// vector_switchyard child), read and watched on the gateway's ZkSession, and written when an
// operator changes a weight on any gateway. This class moves bytes: what they mean is
// routing::OperatorOverrides' business.
//
// A write is a read-modify-write: the node is read with its version, the caller's change is
// applied to what it holds, and the result is written only if the version is still the one read
// (or created only if still missing). When another gateway wrote in between (ZBADVERSION, or
// ZNODEEXISTS for a creation), the node is read again and the change applied again, up to
// kMaxUpdateAttempts times: two gateways changing different instances at once both keep theirs.
//
// Each node is read (with a watch) at start and on every change; a missing node is watched for
// its creation. A new session (after an expiry) reads every node again; a read that failed is
// tried again (soon while connected, else at the reconnection). Through ZooKeeper trouble nothing
// is called: the last overrides stay (fail static).
//
// Control thread only; callbacks run on the control thread, never after stop() or destruction.

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "discovery/zk_session.h"

namespace switchyard::discovery {

class WeightsSource {
 public:
  // `data` is the node's content, or nullopt when the node does not exist.
  using ChangeCallback =
      std::function<void(const std::string& cluster, const std::optional<std::string>& data)>;
  using WriteCallback = std::function<void(int rc)>;
  // The node's content after the change, from its content now (nullopt: no node yet). Called
  // once per attempt, on the control thread.
  using Modify = std::function<std::string(const std::optional<std::string>& current)>;
  // ZOK and what was written, or the error (ZBADVERSION when every attempt lost a race).
  using UpdateCallback = std::function<void(int rc, const std::string& written)>;

  static constexpr int kMaxUpdateAttempts = 8;

  // `session` outlives this object.
  WeightsSource(boost::asio::io_context& control, ZkSession& session, ChangeCallback on_change);
  ~WeightsSource();
  WeightsSource(const WeightsSource&) = delete;
  WeightsSource& operator=(const WeightsSource&) = delete;

  // Watches exactly these nodes (cluster -> node path) from now on; a reload calls it again.
  // A node whose path is unchanged is not read again.
  void watch(const std::map<std::string, std::string>& paths);
  void stop();

  // The watched node of `cluster`, or nullopt when none.
  std::optional<std::string> pathOf(const std::string& cluster) const;
  // Read-modify-write of the cluster's node (see above), creating it (and its parents) when
  // missing. `done` gets ZOK once ZooKeeper has it, or the error (ZkSession::errorText says it in
  // words); ZNONODE at once when the cluster has no watched node.
  void update(const std::string& cluster, Modify modify, UpdateCallback done);

 private:
  struct Node {
    std::string path;
    uint64_t watcher = 0;
    uint64_t generation = 0;  // answers of older reads are dropped
    bool failed = false;      // the last read failed: read again
  };

  void onSession(ZkSession::State state, bool new_session);
  void read(const std::string& cluster);
  void onData(const std::string& cluster, uint64_t generation, int rc, std::string data);
  void readFailed();
  void updateAttempt(const std::string& path, Modify modify, UpdateCallback done, int attempt);
  // `target`: the node itself (ZNODEEXISTS when it appeared meanwhile); otherwise a parent (an
  // existing one is fine).
  void createWithParents(const std::string& path, std::string data, bool target,
                         WriteCallback done);

  ZkSession& session_;
  ChangeCallback on_change_;
  boost::asio::steady_timer retry_timer_;
  uint64_t session_listener_ = 0;
  bool running_ = true;
  std::map<std::string, Node> nodes_;  // by cluster
  std::shared_ptr<char> alive_ = std::make_shared<char>();
};

}  // namespace switchyard::discovery
