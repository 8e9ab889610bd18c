#include "proxy/server.h"

#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zookeeper/zookeeper.h>

#include <boost/asio/ip/address.hpp>
#include <thread>

#include "config/config_loader.h"
#include "discovery/serverset_source.h"
#include "discovery/source_factory.h"
#include "proxy/access_log.h"
#include "proxy/tls_context_set.h"

namespace switchyard::proxy {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

// After the drain deadline every session is closed; this long after that the process stops even
// if one has not let go.
constexpr auto kForcedStopAfterClose = std::chrono::seconds(5);
// How long a process taking over waits for its discovery before giving up (the previous one
// serves meanwhile).
constexpr auto kTakeoverReadyWait = std::chrono::seconds(60);

Result<tcp::acceptor> openReusePort(asio::io_context& ctx, const HostPort& address) {
  error_code ec;
  std::string host = address.host;
  if (host == "localhost") host = "127.0.0.1";
  if (host == "*") host = "0.0.0.0";
  auto ip = asio::ip::make_address(host, ec);
  if (ec) return makeError("listener address " + address.str() + ": not an IP address");
  tcp::endpoint ep(ip, address.port);
  tcp::acceptor a(ctx);
  a.open(ep.protocol(), ec);
  if (!ec) a.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) {
    // Every worker binds the same address; the kernel spreads new connections between them.
    int one = 1;
    if (::setsockopt(a.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
      ec = error_code(errno, boost::system::system_category());
  }
  if (!ec) a.bind(ep, ec);
  if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return makeError("cannot listen on " + address.str() + ": " + ec.message());
  return a;
}

uint32_t workerCount(const config::Config& c) {
  if (c.workers > 0) return c.workers;
  const unsigned n = std::thread::hardware_concurrency();
  return n ? n : 1;
}

}  // namespace

Server::Server(std::shared_ptr<const config::Config> config, std::string takeover_socket)
    : config_(std::move(config)), takeover_path_(std::move(takeover_socket)) {
  if (!config_->access_log.path.empty()) {
    access_log_ =
        std::make_unique<AccessLogSink>(config_->access_log.path, config_->access_log.format);
    if (!access_log_->ok())
      spdlog::error("access log {}: cannot open; requests are not logged",
                    config_->access_log.path);
  }
  const uint32_t n = workerCount(*config_);
  for (uint32_t i = 0; i < n; ++i)
    workers_.push_back(std::make_unique<Worker>(i, access_log_ ? access_log_.get() : nullptr));
  if (config_->zookeeper)
    zookeeper_ = std::make_unique<discovery::ZkSession>(
        control_, discovery::ZkSession::Options{
                      config_->zookeeper->servers,
                      std::chrono::milliseconds(config_->zookeeper->session_timeout_ms)});
  clusters_ = std::make_unique<routing::ClusterManager>(
      control_,
      [this](const config::Cluster& c) {
        return discovery::makeDiscoverySource(control_, c, zookeeper_.get());
      },
      [this](std::shared_ptr<const routing::RoutingSnapshot> s) { publish(std::move(s)); });
  if (config_->weights && zookeeper_)
    weights_ = std::make_unique<discovery::WeightsSource>(
        control_, *zookeeper_,
        [this](const std::string& cluster, const std::optional<std::string>& data) {
          onWeightsNode(cluster, data);
        });
  if (weights_ && config_->weights->zookeeper_path != "serverset")
    splits_ = std::make_unique<routing::SharedSplits>(control_, *zookeeper_, *clusters_,
                                                      config_->weights->zookeeper_path);
}

Server::~Server() {
  for (auto& w : workers_) w->context().stop();
  for (auto& w : workers_) w->join();
}

Result<bool> Server::bind() {
  // Certificates, keys and CA files first: a gateway that cannot serve TLS does not start.
  std::vector<std::string> tls_errors, tls_warnings;
  tls_ = TlsContextSet::build(*config_, nullptr, tls_errors, tls_warnings);
  for (const auto& w : tls_warnings) spdlog::warn("{}", w);
  if (!tls_errors.empty()) {
    std::string message = tls_errors.front();
    for (size_t i = 1; i < tls_errors.size(); ++i) message += "\n" + tls_errors[i];
    return makeError(message);
  }
  for (auto& w : workers_) w->applyTls(tls_);
  while (listener_connections_.size() < config_->listeners.size())
    listener_connections_.emplace_back(0);
  if (!takeover_path_.empty()) {
    auto taken = TakeoverClient::connect(takeover_path_, std::chrono::seconds(5));
    if (auto* client = std::get_if<std::unique_ptr<TakeoverClient>>(&taken)) {
      takeover_ = std::move(*client);
      spdlog::info("takeover: {} listening socket(s) from the gateway running at {}",
                   takeover_->sockets().size(), takeover_path_);
    } else if (const auto& failure = std::get<TakeoverClient::Failure>(taken); failure.nobody) {
      spdlog::info("takeover: no gateway running at {}: binding every listener", takeover_path_);
    } else {
      spdlog::warn("takeover from {} failed ({}): binding every listener", takeover_path_,
                   failure.message);
    }
  }
  for (uint32_t li = 0; li < config_->listeners.size(); ++li) {
    const auto& l = config_->listeners[li];
    if (l.protocol != config::ListenerProtocol::kHttp &&
        l.protocol != config::ListenerProtocol::kHttps &&
        l.protocol != config::ListenerProtocol::kTcp)
      return makeError("listener \"" + l.name + "\": protocol " + config::toString(l.protocol) +
                       " is not supported yet");
    auto bound = bindListener(li);
    if (!bound) return bound;
  }
  const int admin_fd =
      takeover_ ? takeover_->take(HandedSocket::Kind::kAdmin, config_->admin.address.str()) : -1;
  auto admin = admin_fd >= 0 ? admin_.adopt(admin_fd) : admin_.start(config_->admin.address);
  if (!admin) return admin.error();
  // What the next process will take over: the descriptors stay open while this one serves (the
  // workers close theirs when they drain, after a handover). Listed before any worker runs.
  for (auto& w : workers_)
    for (const auto& [li, fd] : w->listeningSockets())
      offered_.push_back({HandedSocket::Kind::kListener, config_->listeners[li].address.str(), fd});
  if (int fd = admin_.nativeHandle(); fd >= 0)
    offered_.push_back({HandedSocket::Kind::kAdmin, config_->admin.address.str(), fd});
  admin_endpoint_ = admin.value();
  return true;
}

Result<bool> Server::bindListener(uint32_t li) {
  const auto& l = config_->listeners[li];
  const std::string address = l.address.str();
  auto adopt = [&](Worker& w, int fd) -> Result<bool> {
    tcp::acceptor a(w.context());
    error_code ec;
    a.assign(protocolOf(fd), fd, ec);
    if (ec) {
      ::close(fd);
      return makeError("listener " + l.name + ": socket handed over: " + ec.message());
    }
    w.addAcceptor(li, std::move(a), &listener_connections_[li]);
    return true;
  };
  // One socket per worker: the previous process's first (the connections waiting in their
  // queues are accepted here), a new SO_REUSEPORT one where it had fewer workers.
  for (auto& w : workers_) {
    const int fd = takeover_ ? takeover_->take(HandedSocket::Kind::kListener, address) : -1;
    if (fd >= 0) {
      auto adopted = adopt(*w, fd);
      if (!adopted) return adopted;
      continue;
    }
    auto a = openReusePort(w->context(), l.address);
    if (!a) return a.error();
    w->addAcceptor(li, std::move(a.value()), &listener_connections_[li]);
  }
  // It had more workers than this process: their sockets too, or what waits there is lost.
  for (size_t i = 0; takeover_; ++i) {
    const int fd = takeover_->take(HandedSocket::Kind::kListener, address);
    if (fd < 0) break;
    auto adopted = adopt(*workers_[i % workers_.size()], fd);
    if (!adopted) return adopted;
  }
  return true;
}

void Server::offerSockets() {
  if (takeover_path_.empty()) return;
  offer_ = std::make_unique<TakeoverServer>(
      control_, takeover_path_, [this] { return offered_; },
      [this] {
        handed_over_ = true;
        spdlog::info("takeover: the new process serves; draining this one");
        if (!shutting_down_) shutdown();
      });
  auto started = offer_->start();
  if (!started) {
    spdlog::warn("{}: a binary upgrade cannot take this gateway's sockets over",
                 started.error().message);
    offer_.reset();
  }
}

int Server::run() {
  // Sources read once the session is up; until then they are not ready (and /ready says 503).
  if (zookeeper_) zookeeper_->start();
  // The first snapshot is given to every worker before its thread starts, so that no
  // connection is accepted without routes.
  clusters_->apply(config_);
  watchWeights();
  if (takeover_) {
    // The previous process serves until this one knows its instances: accepting from the shared
    // sockets before would answer 503. It waits as long as discovery takes (a ZooKeeper read),
    // within kTakeoverReadyWait; past that this process gives up and the other goes on.
    spdlog::info("takeover: waiting until every discovery source has been read");
    const auto deadline = Clock::now() + kTakeoverReadyWait;
    while (!clusters_->ready() && Clock::now() < deadline) {
      control_.run_for(std::chrono::milliseconds(20));
      if (control_.stopped()) control_.restart();
    }
    if (!clusters_->ready()) {
      spdlog::error("takeover: discovery not ready within {} s; the previous gateway goes on",
                    std::chrono::duration_cast<std::chrono::seconds>(kTakeoverReadyWait).count());
      return 1;
    }
  }
  for (auto& w : workers_) w->applySnapshot(published_ ? published_ : clusters_->current());
  for (auto& w : workers_) w->start();
  if (takeover_) {
    // Every worker accepts now: the previous process may stop.
    auto told = takeover_->ready();
    if (told)
      spdlog::info("takeover: the previous gateway drains and exits");
    else
      spdlog::warn("takeover: the previous gateway at {}: {}", takeover_path_,
                   told.error().message);
    takeover_.reset();  // closes the sockets this configuration does not use
  }
  offerSockets();
  spdlog::info("switchyard serving: {} worker(s), {} listener(s), admin on {}:{}", workers_.size(),
               config_->listeners.size(), admin_endpoint_.address().to_string(),
               admin_endpoint_.port());
  for (size_t i = 0; i < config_->listeners.size(); ++i) {
    const auto& l = config_->listeners[i];
    if (auto tls = tls_->listener(i))
      spdlog::info("listener {} on {} (https, certificate serial {}, valid until {})", l.name,
                   l.address.str(), tls->serial(), tls->notAfter());
    else
      spdlog::info("listener {} on {}", l.name, l.address.str());
  }
  signals_.add(SIGTERM);
  signals_.add(SIGINT);
  signals_.add(SIGHUP);
  waitSignal();
  // After the signal handlers are in place: systemd may send SIGHUP as soon as it is told.
  notifier_.serving(clusters_->ready());
  control_.run();
  for (auto& w : workers_) w->join();
  spdlog::info("switchyard stopped");
  return forced_stop_ ? 1 : 0;
}

void Server::publish(std::shared_ptr<const routing::RoutingSnapshot> snapshot) {
  if (!snapshot) return;
  snapshot = health_.decorate(std::move(snapshot));
  published_ = snapshot;
  for (auto& w : workers_) {
    Worker* worker = w.get();
    worker->post([worker, snapshot] { worker->applySnapshot(snapshot); });
  }
  notifier_.discoveryChanged(clusters_->ready());  // a source read for the first time publishes
}

void Server::collectStats(std::function<void(StatsReport)> done) {
  struct Gather {
    StatsReport sum;
    size_t pending;
    std::function<void(StatsReport)> done;
  };
  auto g = std::make_shared<Gather>(Gather{{}, workers_.size(), std::move(done)});
  for (auto& w : workers_) {
    Worker* worker = w.get();
    worker->post([this, worker, g] {
      auto report = worker->collectStats();
      asio::post(control_, [g, report = std::move(report)] {
        g->sum.merge(report);
        if (--g->pending == 0) g->done(std::move(g->sum));
      });
    });
  }
}

std::optional<ZooKeeperView> Server::zookeeper() const {
  if (!zookeeper_) return std::nullopt;
  ZooKeeperView view;
  view.servers = zookeeper_->options().servers;
  view.state = discovery::ZkSession::toString(zookeeper_->state());
  view.connected = zookeeper_->state() == discovery::ZkSession::State::kConnected;
  view.session_id = zookeeper_->sessionIdText();
  const auto& figures = zookeeper_->figures();
  view.sessions = figures.sessions_established;
  view.expirations = figures.expirations;
  view.disconnections = figures.disconnections;
  return view;
}

void Server::watchWeights() {
  if (!weights_) return;
  std::map<std::string, std::string> paths;
  const std::string& base = config_->weights ? config_->weights->zookeeper_path : "";
  for (const auto& c : config_->clusters) {
    if (base == "serverset") {
      // Beside the members, where Finagle clients read it too; other clusters keep theirs local.
      if (c.discovery.kind != config::DiscoveryKind::kServerSet ||
          c.discovery.format != config::ServerSetFormat::kServerSet)
        continue;
      const std::string& set = c.discovery.serverset;
      paths[c.name] = (set == "/" ? "" : set) + "/" + std::string(discovery::kOperatorVectorName);
    } else if (!base.empty()) {
      paths[c.name] = (base == "/" ? "" : base) + "/" + c.name;
    }
  }
  weights_->watch(paths);
  if (splits_) splits_->watch(config_);
}

void Server::onWeightsNode(const std::string& cluster, const std::optional<std::string>& data) {
  routing::ClusterOverrides overrides;
  if (data) {
    auto decoded = routing::decodeOverrides(*data);
    if (!decoded) {
      spdlog::warn("operator weights of cluster {}: {}: {}; keeping the last ones", cluster,
                   weights_->pathOf(cluster).value_or("?"), decoded.error().message);
      return;
    }
    overrides = std::move(decoded.value());
  }
  if (clusters_->setClusterOverrides(cluster, std::move(overrides)))
    spdlog::info("operator weights of cluster {} changed (from ZooKeeper)", cluster);
}

void Server::operatorChange(const OperatorChange& change, std::function<void(AdminAnswer)> done) {
  changes_.emplace_back(change, std::move(done));
  runNextChange();
}

void Server::runNextChange() {
  if (change_running_ || changes_.empty()) return;
  change_running_ = true;
  auto [change, done] = std::move(changes_.front());
  changes_.pop_front();
  applyOperatorChange(change, [this, done = std::move(done)](AdminAnswer answer) {
    done(std::move(answer));
    change_running_ = false;
    runNextChange();
  });
}

void Server::applyOperatorChange(const OperatorChange& change,
                                 std::function<void(AdminAnswer)> done) {
  if (change.kind == OperatorChange::Kind::kSplit && !splits_) {
    clusters_->setSplit(change.listener, change.route, change.split);
    spdlog::info("operator: listener {} route {}: split changed", change.listener, change.route);
    return done(changedAnswer(change, {}, "local"));
  }
  if (change.kind == OperatorChange::Kind::kSplit) {
    const std::string path = splits_->pathOf(change.listener, change.route);
    return splits_->write(change.listener, change.route, change.split,
                          [change, path, done = std::move(done)](int rc) {
                            if (rc != ZOK)
                              return done(errorAnswer(503, "ZooKeeper did not take the change (" +
                                                               discovery::ZkSession::errorText(rc) +
                                                               "); nothing changed"));
                            spdlog::info(
                                "operator: listener {} route {}: split changed, shared at {}",
                                change.listener, change.route, path);
                            done(changedAnswer(change, {}, "zookeeper:" + path));
                          });
  }
  const routing::ClusterOverrides& local = clusters_->overrides().cluster(change.cluster);
  auto path = weights_ ? weights_->pathOf(change.cluster) : std::nullopt;
  if (!path) {
    auto next = applyChange(local, change);
    clusters_->setClusterOverrides(change.cluster, next);
    spdlog::info("operator: cluster {}: weights changed (local to this gateway)", change.cluster);
    return done(changedAnswer(change, next, "local"));
  }
  // Read-modify-write, so that another gateway's concurrent change is kept; answer once
  // ZooKeeper has it, and apply what was written at once rather than waiting for our own watch.
  weights_->update(
      change.cluster,
      [change, local](const std::optional<std::string>& current) {
        return rewriteOverrides(change, current, local);
      },
      [this, change, local_fallback = local, path = *path, done = std::move(done)](
          int rc, const std::string& written) {
        if (rc != ZOK) {
          spdlog::warn("operator: cluster {}: cannot write {}: {}", change.cluster, path,
                       discovery::ZkSession::errorText(rc));
          return done(errorAnswer(503, "ZooKeeper did not take the change (" +
                                           discovery::ZkSession::errorText(rc) +
                                           "); nothing changed"));
        }
        auto decoded = routing::decodeOverrides(written);  // what rewriteOverrides encoded
        routing::ClusterOverrides next = decoded ? std::move(decoded.value()) : local_fallback;
        clusters_->setClusterOverrides(change.cluster, next);
        spdlog::info("operator: cluster {}: weights changed, shared at {}", change.cluster, path);
        done(changedAnswer(change, next, "zookeeper:" + path));
      });
}

void Server::waitSignal() {
  signals_.async_wait([this](error_code ec, int sig) {
    if (ec) return;
    if (sig == SIGHUP) {
      notifier_.reloading();
      reload();
      notifier_.reloaded();
      return waitSignal();
    }
    if (shutting_down_) {
      spdlog::warn("second signal: closing every connection now");
      for (auto& w : workers_) {
        Worker* worker = w.get();
        worker->post([worker] { worker->closeAll(); });
      }
      return;
    }
    shutdown();
    waitSignal();
  });
}

void Server::reload() {
  spdlog::info("SIGHUP: reloading {}", config_->source_path);
  auto loaded = config::loadConfigFile(config_->source_path);
  if (!loaded.ok()) {
    for (const auto& e : loaded.errors) spdlog::error("{}", e.str());
    spdlog::error("reload refused: the file has {} error(s); the running configuration stays",
                  loaded.errors.size());
    return;
  }
  auto next = std::make_shared<const config::Config>(std::move(loaded.config));
  // Listeners are bound once at start; changing them needs a restart (said, not ignored).
  bool same_listeners = next->listeners.size() == config_->listeners.size();
  for (size_t i = 0; same_listeners && i < next->listeners.size(); ++i)
    same_listeners = next->listeners[i].name == config_->listeners[i].name &&
                     next->listeners[i].address == config_->listeners[i].address &&
                     next->listeners[i].protocol == config_->listeners[i].protocol;
  if (!same_listeners) {
    spdlog::error(
        "reload refused: listeners (names, addresses, protocols) changed; restart to "
        "apply that");
    return;
  }
  // One session for the process: moving to other ZooKeeper servers is a restart (said, not
  // ignored), like a listener change.
  if (next->zookeeper != config_->zookeeper) {
    spdlog::error("reload refused: the zookeeper section changed; restart to apply that");
    return;
  }
  config_ = next;
  reloadTls();
  clusters_->apply(config_);
  watchWeights();
  spdlog::info("reload applied: {} cluster(s)", config_->clusters.size());
}

void Server::reloadTls() {
  std::vector<std::string> errors, warnings;
  tls_ = TlsContextSet::build(*config_, tls_.get(), errors, warnings);
  for (const auto& w : warnings) spdlog::warn("reload: {}", w);
  for (const auto& e : errors) spdlog::error("reload: {}", e);
  for (size_t i = 0; i < config_->listeners.size(); ++i)
    if (auto tls = tls_->listener(i))
      spdlog::info("listener {}: certificate serial {} (valid until {})",
                   config_->listeners[i].name, tls->serial(), tls->notAfter());
  for (auto& w : workers_) {
    Worker* worker = w.get();
    worker->post([worker, tls = tls_] { worker->applyTls(tls); });
  }
}

void Server::shutdown() {
  shutting_down_ = true;
  notifier_.stopping();
  uint32_t grace_ms = 0;
  for (const auto& c : config_->clusters) grace_ms = std::max(grace_ms, c.drain_timeout_ms);
  if (grace_ms == 0) grace_ms = 30000;
  spdlog::info("draining: no new connections; finishing requests in flight (at most {} ms)",
               grace_ms);
  admin_.stop();
  if (offer_) offer_->stop();
  clusters_->stop();
  if (weights_) weights_->stop();
  if (splits_) splits_->stop();
  health_.stop();
  // The sets stay as they are in the workers' snapshots while requests finish.
  if (zookeeper_) zookeeper_->stop();
  for (auto& w : workers_) {
    Worker* worker = w.get();
    worker->post([this, worker, take_backlog = !handed_over_] {
      worker->drain(
          [this] {
            asio::post(control_, [this] {
              if (++workers_drained_ == workers_.size()) {
                // Every worker reported its drain complete: nothing of value is left on their
                // loops (a handler still queued would only delay the join), so they stop here
                // rather than whenever their last pending operation ends.
                for (auto& w : workers_) w->context().stop();
                shutdown_timer_.cancel();
                signals_.cancel();
                control_.stop();
              }
            });
          },
          take_backlog);
    });
  }
  shutdown_timer_.expires_after(std::chrono::milliseconds(grace_ms));
  shutdown_timer_.async_wait([this](error_code ec) {
    if (ec) return;
    spdlog::warn("drain timeout: closing the connections still open");
    for (auto& w : workers_) {
      Worker* worker = w.get();
      worker->post([worker] { worker->closeAll(); });
    }
    // Closing is asynchronous; a session that never lets go (a bug) must not keep the process
    // alive forever after a SIGTERM: past this backstop the loops are stopped and the process
    // exits non-zero, saying so.
    shutdown_timer_.expires_after(kForcedStopAfterClose);
    shutdown_timer_.async_wait([this](error_code ec) {
      if (ec) return;
      spdlog::error(
          "{} of {} worker(s) still had sessions {} ms after closing them; stopping anyway",
          workers_.size() - workers_drained_, workers_.size(),
          std::chrono::duration_cast<std::chrono::milliseconds>(kForcedStopAfterClose).count());
      forced_stop_ = true;
      for (auto& w : workers_) w->context().stop();
      signals_.cancel();
      control_.stop();
    });
  });
}

}  // namespace switchyard::proxy
