#pragma once
// Operator weights shared through ZooKeeper (DESIGN.md, "Discovery formats", last paragraph):
// one persistent node per cluster (weights.zookeeper_path/CLUSTER, or the ServerSet's
// vector_switchyard child), read and watched on the gateway's ZkSession, and written when an
// operator changes a weight on any gateway. This class moves bytes: what they mean is
// routing::OperatorOverrides' business.
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
  // Writes `data` to the cluster's node, creating it (and its parents) when missing. `done` gets
  // ZOK once ZooKeeper has it, or the error (ZkSession::errorText says it in words).
  void write(const std::string& cluster, std::string data, WriteCallback done);

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
  // `target`: the node itself (an existing one is written over); otherwise a parent (an existing
  // one is left as it is).
  void readFailed();
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
