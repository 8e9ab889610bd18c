#pragma once
// Keeps one instance registered in a ServerSet: an ephemeral sequential `member_` znode under
// `path` holding Aurora's JSON (serviceEndpoint, additionalEndpoints, status ALIVE, shard), what
// `switchyard announce` runs.
//
// A small reconciling state machine, control thread only:
//   desired = running && healthy      (healthy is always true without a health check)
//   present = our node exists in the current ZooKeeper session, as far as we know
// and reconcile() issues at most one ZooKeeper operation at a time to move `present` towards
// `desired`: create (and the path's missing persistent parents), or delete. Every completion and
// every session change calls reconcile() again, so the announcer converges whatever happened in
// between:
//   - a new session (first connection, or after an expiry: the old node died with the old
//     session) means present = false, so the node is created again;
//   - a create whose answer was lost with the connection may or may not have happened: once
//     reconnected, our orphans (members holding exactly our data) are deleted before creating;
//   - our node deleted by someone else (watched) is created again;
//   - a health check failing `unhealthy_after` times in a row withdraws the node, passing
//     `healthy_after` times in a row brings it back. Nothing is announced before the first pass.
// stop() withdraws the node first and then reports, so that a caller exits only after the
// gateways have been told.

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/host_port.h"
#include "discovery/health_probe.h"
#include "discovery/zk_session.h"

namespace switchyard::discovery {

class Announcer {
 public:
  struct HealthCheck {
    HealthTarget target;
    std::chrono::milliseconds interval{1000};  // from the end of one GET to the next
    std::chrono::milliseconds timeout{500};
    uint32_t unhealthy_after = 2;  // consecutive failures that withdraw the node
    uint32_t healthy_after = 1;    // consecutive passes that announce it (again)
  };

  struct Options {
    std::string path;  // the ServerSet: "/aurora/role/env/job"
    HostPort service_endpoint;
    // name -> address, in the order given; the service endpoint is usually one of them too.
    std::vector<std::pair<std::string, HostPort>> additional_endpoints;
    std::optional<int64_t> shard;
    std::optional<HealthCheck> health;
  };

  Announcer(boost::asio::io_context& control, ZkSession& session, Options options);
  ~Announcer();
  Announcer(const Announcer&) = delete;
  Announcer& operator=(const Announcer&) = delete;

  // Control thread, like everything here. Listens to the session and starts the health check;
  // the node is created as soon as the session is connected (and the instance healthy).
  void start();
  // Withdraws the node, then calls `done` (on the control thread, asynchronously). Without a
  // connected session the node cannot be deleted: `done` waits until the session is back or the
  // caller gives up (closing the session deletes the node too, when the servers hear it).
  void stop(std::function<void()> done);

  // The member's JSON, in Aurora's key order.
  std::string memberData() const { return data_; }
  static std::string memberJson(const Options& options);

  // The znode's full path while announced in the current session, else empty.
  const std::string& nodePath() const { return node_path_; }
  bool healthy() const { return healthy_; }

 private:
  void onSession(ZkSession::State state, bool new_session);
  void reconcile();
  void reconcileLater();
  void create();
  void createParents(size_t next_slash);
  void removeOrphans();
  void withdraw();
  void watchNode();
  void finishStop();
  void probe();
  void onProbe(const HealthOutcome& outcome);
  void scheduleProbe();
  // Wraps a ZooKeeper completion: ignored when the session changed since it was issued.
  template <typename Fn>
  auto guarded(Fn fn);

  boost::asio::io_context& control_;
  ZkSession& session_;
  Options options_;
  std::string data_;

  bool running_ = false;
  bool healthy_ = true;
  std::string node_path_;  // present when not empty
  bool op_in_flight_ = false;
  bool uncertain_ = false;  // a create's answer was lost: our node may exist unnamed
  uint64_t epoch_ = 0;      // bumped on every session change that voids pending answers
  std::function<void()> stop_done_;

  uint64_t session_listener_ = 0;
  uint64_t node_watcher_ = 0;

  std::optional<HealthProbe> probe_;
  boost::asio::steady_timer probe_timer_;
  boost::asio::steady_timer retry_timer_;
  uint32_t passes_ = 0;
  uint32_t failures_ = 0;
  std::string last_failure_;  // logged once per distinct failure

  std::shared_ptr<char> alive_ = std::make_shared<char>();
};

}  // namespace switchyard::discovery
