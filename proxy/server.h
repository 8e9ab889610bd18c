#pragma once
// The running gateway: the control thread (discovery, configuration, admin API, signals) and
// the workers. Owns everything; no globals.

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "discovery/weights_source.h"
#include "discovery/zk_session.h"
#include "proxy/admin/admin_backend.h"
#include "proxy/admin/admin_server.h"
#include "proxy/health_checker.h"
#include "proxy/listener_takeover.h"
#include "proxy/service_notify.h"
#include "proxy/worker.h"
#include "routing/cluster_manager.h"
#include "routing/shared_splits.h"

namespace switchyard::proxy {

class AccessLogSink;
class TlsContextSet;

class Server final : public AdminBackend {
 public:
  // `takeover_socket`: where a running gateway offers its listening sockets (taken over by
  // bind()), and where this one offers them to the next (listener_takeover.h); empty = neither.
  explicit Server(std::shared_ptr<const config::Config> config, std::string takeover_socket = {});
  ~Server() override;

  // Binds every listener on every worker and the admin address; the error says what failed.
  Result<bool> bind();
  // Runs until SIGTERM/SIGINT has drained the gateway. Returns the process exit code.
  int run();
  // The bound admin endpoint (after bind()).
  boost::asio::ip::tcp::endpoint adminEndpoint() const { return admin_endpoint_; }

  // AdminBackend (control thread).
  std::shared_ptr<const config::Config> config() const override { return config_; }
  bool ready() const override { return clusters_->ready(); }
  std::vector<routing::ClusterManager::ClusterStatus> clusterStatus() const override {
    return clusters_->status();
  }
  std::shared_ptr<const routing::RoutingSnapshot> snapshot() const override {
    return published_ ? published_ : clusters_->current();
  }
  void collectStats(std::function<void(StatsReport)> done) override;
  std::optional<ZooKeeperView> zookeeper() const override;
  void operatorChange(const OperatorChange& change, std::function<void(AdminAnswer)> done) override;

 private:
  void publish(std::shared_ptr<const routing::RoutingSnapshot> snapshot);
  void waitSignal();
  void reload();
  // Certificates and CA files are read again: new connections get the new contexts; a file that
  // fails keeps the context it would have replaced (and the log says why).
  void reloadTls();
  // weights.zookeeper_path: the node of every cluster whose operator weights are shared.
  void watchWeights();
  void onWeightsNode(const std::string& cluster, const std::optional<std::string>& data);
  // Operator changes run one at a time: each builds on the overrides the previous one left (two
  // calls in flight would otherwise both start from the same state and one would be lost).
  void runNextChange();
  void applyOperatorChange(const OperatorChange& change, std::function<void(AdminAnswer)> done);
  void shutdown();
  // bind(): a listener's acceptor on each worker, from the sockets a previous process handed
  // over first, then new ones.
  Result<bool> bindListener(uint32_t li);
  void offerSockets();

  std::shared_ptr<const config::Config> config_;
  boost::asio::io_context control_{1};
  boost::asio::signal_set signals_{control_};
  boost::asio::steady_timer shutdown_timer_{control_};
  std::unique_ptr<AccessLogSink> access_log_;
  // The one ZooKeeper session every serverset source shares; null without a zookeeper section.
  std::unique_ptr<discovery::ZkSession> zookeeper_;
  // Active health checks: their verdicts are folded into every snapshot published.
  HealthChecker health_{control_, [this] { publish(clusters_->current()); }};
  std::shared_ptr<const routing::RoutingSnapshot> published_;  // the workers' latest
  std::shared_ptr<const TlsContextSet> tls_;                   // the workers' latest
  // Connections open per listener across every worker (limits.max_connections), by listener
  // index; a deque so that the workers' pointers stay valid. Declared before the workers.
  std::deque<std::atomic<int64_t>> listener_connections_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::unique_ptr<routing::ClusterManager> clusters_;
  // Operator weights shared through ZooKeeper; null without a weights section.
  std::unique_ptr<discovery::WeightsSource> weights_;
  // Route splits shared through ZooKeeper; null unless weights.zookeeper_path is a path.
  std::unique_ptr<routing::SharedSplits> splits_;
  std::deque<std::pair<OperatorChange, std::function<void(AdminAnswer)>>> changes_;
  bool change_running_ = false;
  AdminServer admin_{control_, *this};
  boost::asio::ip::tcp::endpoint admin_endpoint_;
  bool shutting_down_ = false;
  // Binary upgrade (listener_takeover.h): the path, the previous process's sockets while bind()
  // and run() use them, this process's offer, and whether it handed them to a new process.
  std::string takeover_path_;
  std::unique_ptr<TakeoverClient> takeover_;
  std::unique_ptr<TakeoverServer> offer_;
  std::vector<HandedSocket> offered_;
  bool handed_over_ = false;
  size_t workers_drained_ = 0;
  bool forced_stop_ = false;  // the drain never completed (see shutdown())
  ServiceNotifier notifier_;  // systemd's READY=1, RELOADING=1, STOPPING=1
};

}  // namespace switchyard::proxy
