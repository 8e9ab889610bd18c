#include "discovery/announcer.h"

#include <spdlog/spdlog.h>
#include <zookeeper/zookeeper.h>

#include <boost/asio/post.hpp>
#include <memory>
#include <nlohmann/json.hpp>

namespace switchyard::discovery {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {

nlohmann::ordered_json endpointJson(const HostPort& address) {
  return {{"host", address.host}, {"port", address.port}};
}

// Answers that mean "the connection went away, try again once it is back".
bool connectionTrouble(int rc) {
  return rc == ZCONNECTIONLOSS || rc == ZOPERATIONTIMEOUT || rc == ZSESSIONEXPIRED ||
         rc == ZCLOSING || rc == ZINVALIDSTATE;
}

constexpr std::chrono::seconds kRetryDelay{1};

}  // namespace

std::string Announcer::memberJson(const Options& options) {
  nlohmann::ordered_json member;
  member["serviceEndpoint"] = endpointJson(options.service_endpoint);
  auto& additional = member["additionalEndpoints"] = nlohmann::ordered_json::object();
  for (const auto& [name, address] : options.additional_endpoints)
    additional[name] = endpointJson(address);
  member["status"] = "ALIVE";
  if (options.shard) member["shard"] = *options.shard;
  return member.dump();
}

Announcer::Announcer(asio::io_context& control, ZkSession& session, Options options)
    : control_(control),
      session_(session),
      options_(std::move(options)),
      data_(memberJson(options_)),
      probe_timer_(control),
      retry_timer_(control) {}

Announcer::~Announcer() {
  if (session_listener_) session_.removeSessionListener(session_listener_);
  if (node_watcher_) session_.removeNodeWatcher(node_watcher_);
}

template <typename Fn>
auto Announcer::guarded(Fn fn) {
  return [weak = std::weak_ptr<char>(alive_), epoch = epoch_, this,
          fn = std::move(fn)](auto&&... args) mutable {
    if (!weak.lock() || epoch != epoch_) return;
    fn(std::forward<decltype(args)>(args)...);
  };
}

void Announcer::start() {
  if (running_) return;
  running_ = true;
  session_listener_ = session_.addSessionListener(
      [this](ZkSession::State state, bool new_session) { onSession(state, new_session); });
  // Events of the set's children reach this watcher; ours is the one we look for.
  node_watcher_ = session_.addNodeWatcher(options_.path, [this](const ZkSession::NodeEvent& e) {
    if (node_path_.empty() || e.path != node_path_ || op_in_flight_) return;
    if (e.kind == ZkSession::EventKind::kDeleted) {
      spdlog::warn(
          "announce: {} was deleted (by someone else, or with an expired session); "
          "announcing again",
          node_path_);
      node_path_.clear();
      reconcile();
    } else {
      watchNode();  // a data change consumed the watch
    }
  });
  spdlog::info("announce: {} in {} as {}", options_.path, session_.options().servers, data_);
  if (options_.health) {
    healthy_ = false;
    probe_.emplace(control_);
    spdlog::info("announce: waiting for {} to answer 2xx before announcing",
                 options_.health->target.url());
    probe();
  }
  reconcile();
}

void Announcer::stop(std::function<void()> done) {
  running_ = false;
  stop_done_ = std::move(done);
  if (probe_) probe_->cancel();
  probe_timer_.cancel();
  reconcile();
}

void Announcer::onSession(ZkSession::State state, bool new_session) {
  if (state == ZkSession::State::kExpired ||
      (state == ZkSession::State::kConnected && new_session)) {
    // Whatever was pending belongs to the dead session, and so did our node.
    ++epoch_;
    op_in_flight_ = false;
    uncertain_ = false;
    retry_timer_.cancel();
    if (!node_path_.empty() && state == ZkSession::State::kExpired)
      spdlog::warn(
          "announce: session expired, {} went with it; announcing again in the next "
          "session",
          node_path_);
    node_path_.clear();
  }
  if (state == ZkSession::State::kConnected) reconcile();
}

void Announcer::reconcile() {
  if (op_in_flight_) return;
  const bool desired = running_ && healthy_;
  if (!running_ && node_path_.empty() && !uncertain_) return finishStop();
  if (session_.state() != ZkSession::State::kConnected) return;  // onSession calls back
  if (uncertain_) return removeOrphans();
  if (desired && node_path_.empty()) return create();
  if (!desired && !node_path_.empty()) return withdraw();
}

// A ZooKeeper error that is neither "connection trouble" nor expected: log, wait, reconcile.
void Announcer::create() {
  op_in_flight_ = true;
  session_.create(options_.path + "/member_", data_, true, true,
                  guarded([this](int rc, std::string created) {
                    op_in_flight_ = false;
                    if (rc == ZOK) {
                      node_path_ = std::move(created);
                      spdlog::info("announce: announced {}", node_path_);
                      watchNode();
                    } else if (rc == ZNONODE) {
                      // The set's path (or a parent) is missing: create it, then the member.
                      op_in_flight_ = true;
                      return createParents(1);
                    } else if (connectionTrouble(rc)) {
                      // The create may have happened with its answer lost: look for it later.
                      uncertain_ = rc == ZCONNECTIONLOSS || rc == ZOPERATIONTIMEOUT;
                      spdlog::warn(
                          "announce: creating the member under {} failed ({}); trying "
                          "again once connected",
                          options_.path, ZkSession::errorText(rc));
                    } else {
                      spdlog::error(
                          "announce: cannot create a member under {}: {}; retrying in "
                          "{} s",
                          options_.path, ZkSession::errorText(rc), kRetryDelay.count());
                      return reconcileLater();
                    }
                    reconcile();
                  }));
}

// Creates the persistent prefix of options_.path that ends before the slash at or after `from`
// (the whole path last), then the next one; ZNODEEXISTS is success.
void Announcer::createParents(size_t from) {
  const auto slash = options_.path.find('/', from);
  const bool last = slash == std::string::npos;
  const std::string prefix = last ? options_.path : options_.path.substr(0, slash);
  session_.create(prefix, "", false, false,
                  guarded([this, last, slash, prefix](int rc, std::string) {
                    if (rc != ZOK && rc != ZNODEEXISTS) {
                      op_in_flight_ = false;
                      if (connectionTrouble(rc)) return;  // onSession reconciles
                      spdlog::error("announce: cannot create {}: {}; retrying in {} s", prefix,
                                    ZkSession::errorText(rc), kRetryDelay.count());
                      return reconcileLater();
                    }
                    if (rc == ZOK) spdlog::info("announce: created {}", prefix);
                    if (!last) return createParents(slash + 1);
                    op_in_flight_ = false;
                    reconcile();
                  }));
}

// After a create whose answer was lost: our node may exist under a name we never heard. Members
// holding exactly our data are ours (an instance is its endpoints and shard): keep the first,
// delete the others, then reconcile.
void Announcer::removeOrphans() {
  op_in_flight_ = true;
  session_.getChildren(
      options_.path, false, guarded([this](int rc, std::vector<std::string> children) {
        if (rc == ZNONODE)
          children.clear();
        else if (rc != ZOK) {
          op_in_flight_ = false;
          if (!connectionTrouble(rc))
            spdlog::error("announce: cannot list {}: {}", options_.path, ZkSession::errorText(rc));
          return;  // connection trouble: onSession reconciles
        }
        std::erase_if(children, [](const std::string& c) { return c.rfind("member_", 0) != 0; });
        std::sort(children.begin(), children.end());
        struct Scan {
          size_t pending = 0;
          bool failed = false;
          std::vector<std::string> ours;
        };
        auto scan = std::make_shared<Scan>();
        scan->pending = children.size();
        auto finish = [this, scan] {
          if (scan->failed) {
            op_in_flight_ = false;  // still uncertain: looked at again once connected
            return;
          }
          std::sort(scan->ours.begin(), scan->ours.end());
          uncertain_ = false;
          if (!scan->ours.empty()) {
            node_path_ = options_.path + "/" + scan->ours.front();
            spdlog::info("announce: found our member {} (its creation's answer was lost)",
                         node_path_);
            watchNode();
            // Extra copies from retried creates: delete them, best effort (each is ours).
            for (size_t i = 1; i < scan->ours.size(); ++i)
              session_.remove(options_.path + "/" + scan->ours[i], [](int) {});
          }
          op_in_flight_ = false;
          reconcile();
        };
        if (children.empty()) return finish();
        for (const auto& child : children) {
          session_.getData(options_.path + "/" + child, false,
                           guarded([this, scan, child, finish](int rc, std::string data) {
                             if (rc == ZOK && data == data_) scan->ours.push_back(child);
                             if (rc != ZOK && rc != ZNONODE) scan->failed = true;
                             if (--scan->pending == 0) finish();
                           }));
        }
      }));
}

void Announcer::withdraw() {
  op_in_flight_ = true;
  session_.remove(node_path_, guarded([this](int rc) {
                    op_in_flight_ = false;
                    if (rc == ZOK || rc == ZNONODE) {
                      spdlog::info("announce: withdrew {}", node_path_);
                      node_path_.clear();
                    } else if (!connectionTrouble(rc)) {
                      spdlog::error("announce: cannot delete {}: {}; retrying in {} s", node_path_,
                                    ZkSession::errorText(rc), kRetryDelay.count());
                      return reconcileLater();
                    }
                    reconcile();
                  }));
}

// After a failed operation that a reconnection will not repair: try again in kRetryDelay, with
// no other operation started meanwhile.
void Announcer::reconcileLater() {
  op_in_flight_ = true;
  retry_timer_.expires_after(kRetryDelay);
  retry_timer_.async_wait(guarded([this](error_code ec) {
    if (ec) return;
    op_in_flight_ = false;
    reconcile();
  }));
}

// Arms a watch on our node, so that a deletion by someone else is repaired.
void Announcer::watchNode() {
  const std::string watched = node_path_;
  session_.exists(watched, true, guarded([this, watched](int rc, bool exists) {
                    if (rc != ZOK || exists || watched != node_path_ || op_in_flight_) return;
                    spdlog::warn("announce: {} is gone; announcing again", node_path_);
                    node_path_.clear();
                    reconcile();
                  }));
}

void Announcer::finishStop() {
  if (!stop_done_) return;
  asio::post(control_, [weak = std::weak_ptr<char>(alive_), done = std::move(stop_done_)] {
    if (weak.lock()) done();
  });
  stop_done_ = nullptr;
}

void Announcer::probe() {
  const auto& check = *options_.health;
  probe_->get(check.target, check.timeout, [this](HealthOutcome outcome) { onProbe(outcome); });
}

void Announcer::onProbe(const HealthOutcome& outcome) {
  if (!running_) return;
  const auto& check = *options_.health;
  if (outcome.healthy()) {
    failures_ = 0;
    ++passes_;
    last_failure_.clear();
    if (!healthy_ && passes_ >= check.healthy_after) {
      healthy_ = true;
      spdlog::info("announce: {} answers {}: announcing", check.target.url(), outcome.status);
      reconcile();
    }
  } else {
    passes_ = 0;
    ++failures_;
    const std::string why = outcome.answered() ? "status " + outcome.str() : outcome.str();
    if (healthy_ && failures_ >= check.unhealthy_after) {
      healthy_ = false;
      spdlog::warn("announce: {} failed {} time(s) in a row ({}): withdrawing", check.target.url(),
                   failures_, why);
      reconcile();
    } else if (why != last_failure_) {
      spdlog::info("announce: {}: {}{}", check.target.url(), why,
                   healthy_ ? fmt::format(" ({} of {} failures to withdraw)", failures_,
                                          check.unhealthy_after)
                            : " (not announced until it answers 2xx)");
    }
    last_failure_ = why;
  }
  scheduleProbe();
}

void Announcer::scheduleProbe() {
  probe_timer_.expires_after(options_.health->interval);
  probe_timer_.async_wait([this, weak = std::weak_ptr<char>(alive_)](error_code ec) {
    if (ec || !weak.lock() || !running_) return;
    probe();
  });
}

}  // namespace switchyard::discovery
