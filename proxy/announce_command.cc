#include "proxy/announce_command.h"

#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <csignal>
#include <iostream>
#include <sstream>

#include "common/host_port.h"
#include "discovery/zk_session.h"

namespace switchyard::proxy {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {

bool validName(const std::string& name) {
  if (name.empty()) return false;
  for (char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.')
      return false;
  return true;
}

// "h1:2181,h2:2181/chroot": the same rule as the configuration's zookeeper.servers.
Result<bool> checkConnectString(const std::string& servers) {
  const auto slash = servers.find('/');
  if (slash != std::string::npos) {
    const std::string chroot = servers.substr(slash);
    if (chroot.size() < 2 || chroot.back() == '/')
      return makeError("--zk \"" + servers + "\": bad chroot \"" + chroot +
                       "\" (expected /PATH without a trailing /)");
  }
  std::istringstream in(servers.substr(0, slash));
  std::string host;
  int count = 0;
  while (std::getline(in, host, ',')) {
    ++count;
    if (auto parsed = parseHostPort(host); !parsed)
      return makeError("--zk \"" + servers + "\": bad server: " + parsed.error().message);
  }
  if (count == 0)
    return makeError("--zk \"" + servers + "\": expected HOST:PORT[,HOST:PORT...][/chroot]");
  return true;
}

// A ZooKeeper path as ZooKeeper accepts it: absolute, no empty, "." or ".." component.
Result<bool> checkPath(const std::string& path) {
  const std::string bad = "--path \"" + path + "\": ";
  if (path.empty() || path[0] != '/') return makeError(bad + "expected an absolute path (/a/b)");
  if (path == "/") return makeError(bad + "the root cannot be a ServerSet");
  if (path.back() == '/') return makeError(bad + "no trailing /");
  std::istringstream in(path.substr(1));
  std::string part;
  while (std::getline(in, part, '/')) {
    if (part.empty()) return makeError(bad + "empty component (//)");
    if (part == "." || part == "..") return makeError(bad + "no . or .. components");
  }
  for (char c : path)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      return makeError(bad + "control characters are not allowed");
  return true;
}

}  // namespace

AnnounceCommand::AnnounceCommand(CLI::App& app) {
  command_ = app.add_subcommand(
      "announce",
      "Register one instance in a ServerSet (an ephemeral sequential member_ node) until "
      "SIGTERM/SIGINT, then remove it and exit 0");
  command_->footer(
      "The member is Aurora's ServerSet JSON: every --endpoint goes into additionalEndpoints;\n"
      "serviceEndpoint is --service-endpoint, else the endpoint named \"http\", else the first.\n"
      "With --health-url (plain http:// only), the member is announced only while the URL\n"
      "answers 2xx: withdrawn after --unhealthy-after failures in a row, announced again after\n"
      "--healthy-after passes. ZooKeeper trouble is logged and retried; after a session expiry\n"
      "the member is created again. Example:\n"
      "  switchyard announce --zk 127.0.0.1:2181 --path /aurora/www/prod/web \\\n"
      "    --endpoint http=10.0.0.7:8080 --endpoint health=10.0.0.7:8081 --shard 0 \\\n"
      "    --health-url http://10.0.0.7:8081/health");
  command_->add_option("--zk", zk_, "ZooKeeper connect string: HOST:PORT[,HOST:PORT...][/chroot]")
      ->required();
  command_
      ->add_option("--path", path_,
                   "The ServerSet's ZooKeeper path (created, persistent, when missing)")
      ->required();
  command_
      ->add_option("--endpoint", endpoints_,
                   "NAME=HOST:PORT, repeatable: the instance's named endpoints")
      ->required()
      ->take_all();
  command_->add_option("--service-endpoint", service_endpoint_,
                       "Which endpoint is serviceEndpoint (default: \"http\", else the first)");
  command_->add_option("--shard", shard_, "The instance's shard number (omitted when not given)")
      ->check(CLI::Range(int64_t{0}, int64_t{2147483647}));
  command_->add_option("--health-url", health_url_,
                       "http://HOST[:PORT]/PATH: announce only while it answers 2xx");
  command_
      ->add_option("--health-interval-ms", health_interval_ms_, "Pause between two health checks")
      ->capture_default_str()
      ->check(CLI::Range(10u, 3600000u));
  command_->add_option("--health-timeout-ms", health_timeout_ms_, "Health check timeout")
      ->capture_default_str()
      ->check(CLI::Range(10u, 600000u));
  command_
      ->add_option("--unhealthy-after", unhealthy_after_,
                   "Consecutive failed checks that withdraw the member")
      ->capture_default_str()
      ->check(CLI::Range(1u, 1000u));
  command_
      ->add_option("--healthy-after", healthy_after_,
                   "Consecutive passed checks that announce it (again)")
      ->capture_default_str()
      ->check(CLI::Range(1u, 1000u));
  command_->add_option("--session-timeout-ms", session_timeout_ms_, "ZooKeeper session timeout")
      ->capture_default_str()
      ->check(CLI::Range(1000u, 600000u));
  command_
      ->add_option("--stop-timeout-ms", stop_timeout_ms_,
                   "On SIGTERM, how long to wait for ZooKeeper to confirm the removal")
      ->capture_default_str()
      ->check(CLI::Range(0u, 600000u));
}

Result<discovery::Announcer::Options> AnnounceCommand::options() const {
  discovery::Announcer::Options options;
  if (auto ok = checkConnectString(zk_); !ok) return ok.error();
  if (auto ok = checkPath(path_); !ok) return ok.error();
  options.path = path_;
  for (const auto& text : endpoints_) {
    const auto eq = text.find('=');
    if (eq == std::string::npos)
      return makeError("--endpoint \"" + text + "\": expected NAME=HOST:PORT");
    std::string name = text.substr(0, eq);
    if (!validName(name))
      return makeError("--endpoint \"" + text +
                       "\": the name must be letters, digits, '_', '-' or '.'");
    auto address = parseHostPort(std::string_view(text).substr(eq + 1));
    if (!address) return makeError("--endpoint \"" + text + "\": " + address.error().message);
    for (const auto& [seen, unused] : options.additional_endpoints)
      if (seen == name) return makeError("--endpoint: \"" + name + "\" given twice");
    options.additional_endpoints.emplace_back(std::move(name), std::move(*address));
  }
  if (options.additional_endpoints.empty()) return makeError("--endpoint: at least one is needed");
  std::string chosen = service_endpoint_;
  if (chosen.empty()) {
    chosen = options.additional_endpoints.front().first;
    for (const auto& [name, address] : options.additional_endpoints)
      if (name == "http") chosen = name;
  }
  bool found = false;
  for (const auto& [name, address] : options.additional_endpoints) {
    if (name != chosen) continue;
    options.service_endpoint = address;
    found = true;
  }
  if (!found)
    return makeError("--service-endpoint \"" + chosen + "\": no --endpoint has that name");
  if (shard_ >= 0) options.shard = shard_;
  if (!health_url_.empty()) {
    auto target = discovery::HealthTarget::parseUrl(health_url_);
    if (!target) return makeError("--health-url " + target.error().message);
    discovery::Announcer::HealthCheck check;
    check.target = std::move(*target);
    check.interval = std::chrono::milliseconds(health_interval_ms_);
    check.timeout = std::chrono::milliseconds(health_timeout_ms_);
    check.unhealthy_after = unhealthy_after_;
    check.healthy_after = healthy_after_;
    options.health = std::move(check);
  }
  return options;
}

int AnnounceCommand::run() {
  auto options = this->options();
  if (!options) {
    std::cerr << "switchyard announce: " << options.error().message << "\n"
              << "Run with --help for more information.\n";
    return 2;
  }
  std::signal(SIGPIPE, SIG_IGN);

  // Everything runs on this thread's io_context; the ZooKeeper client's own threads only post.
  asio::io_context control{1};
  asio::signal_set signals(control, SIGTERM, SIGINT);
  asio::steady_timer stop_timer(control);
  asio::steady_timer watchdog(control);
  using Clock = std::chrono::steady_clock;
  Clock::time_point down_since = Clock::now();  // no session since then; {} while connected
  Clock::time_point last_warning{};
  discovery::ZkSession session(control, {zk_, std::chrono::milliseconds(session_timeout_ms_)});
  discovery::Announcer announcer(control, session, std::move(*options));

  bool stopping = false;
  auto finish = [&] {
    watchdog.cancel();
    signals.cancel();
    stop_timer.cancel();
    // Closing the session deletes any ephemeral node left (when the servers hear it).
    session.stop();
    control.stop();
  };
  std::function<void()> wait_signal = [&] {
    signals.async_wait([&](error_code ec, int sig) {
      if (ec) return;
      const char* name = sig == SIGTERM ? "SIGTERM" : "SIGINT";
      if (stopping) {
        spdlog::warn("announce: second {}: exiting now", name);
        return finish();
      }
      stopping = true;
      spdlog::info("announce: {}: withdrawing the member, then exiting", name);
      announcer.stop([&] {
        spdlog::info("announce: stopped");
        finish();
      });
      stop_timer.expires_after(std::chrono::milliseconds(stop_timeout_ms_));
      stop_timer.async_wait([&](error_code ec) {
        if (ec) return;
        spdlog::warn(
            "announce: ZooKeeper did not confirm the removal within {} ms; exiting (the "
            "member goes when the servers close or expire the session)",
            stop_timeout_ms_);
        finish();
      });
      wait_signal();
    });
  };
  wait_signal();

  // The ZooKeeper client retries quietly: say so while it has no session, every 10 s.
  session.addSessionListener([&](discovery::ZkSession::State state, bool) {
    if (state == discovery::ZkSession::State::kConnected)
      down_since = {};
    else if (down_since == Clock::time_point{})
      down_since = Clock::now();
  });
  std::function<void()> watch_connection = [&] {
    watchdog.expires_after(std::chrono::seconds(1));
    watchdog.async_wait([&](error_code ec) {
      if (ec || stopping) return;
      const auto now = Clock::now();
      if (down_since != Clock::time_point{} && now - down_since >= std::chrono::seconds(2) &&
          now - last_warning >= std::chrono::seconds(10)) {
        last_warning = now;
        spdlog::warn("announce: ZooKeeper {} unreachable for {} s (session {}); still trying", zk_,
                     std::chrono::duration_cast<std::chrono::seconds>(now - down_since).count(),
                     discovery::ZkSession::toString(session.state()));
      }
      watch_connection();
    });
  };
  watch_connection();

  session.start();
  announcer.start();
  control.run();
  return 0;
}

}  // namespace switchyard::proxy
