// The switchyard binary: `serve`, `check`, `announce`, `ctl`.

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <iostream>

#include "config/config_loader.h"
#include "proxy/announce_command.h"
#include "proxy/ctl_command.h"
#include "proxy/server.h"
#include "proxy/tls_context_set.h"

#ifndef SWITCHYARD_VERSION
#define SWITCHYARD_VERSION "dev"
#endif

namespace {

using namespace switchyard;

// Prints every error of the file; true when there is none.
bool reportErrors(const config::LoadResult& loaded) {
  for (const auto& e : loaded.errors) std::cerr << e.str() << "\n";
  if (!loaded.ok())
    std::cerr << loaded.errors.size() << " error(s) in " << loaded.errors.front().file << "\n";
  return loaded.ok();
}

int runCheck(const std::string& path) {
  auto loaded = config::loadConfigFile(path);
  if (!reportErrors(loaded)) return 1;
  // The files the configuration names must load too: certificates, keys, CA bundles.
  std::vector<std::string> tls_errors, tls_warnings;
  proxy::TlsContextSet::build(loaded.config, nullptr, tls_errors, tls_warnings);
  for (const auto& w : tls_warnings) std::cerr << path << ": warning: " << w << "\n";
  for (const auto& e : tls_errors) std::cerr << path << ": " << e << "\n";
  if (!tls_errors.empty()) {
    std::cerr << tls_errors.size() << " error(s) in the files " << path << " names\n";
    return 1;
  }
  std::cout << path << ": OK (" << loaded.config.listeners.size() << " listener(s), "
            << loaded.config.clusters.size() << " cluster(s))\n";
  return 0;
}

int runServe(const std::string& path, const std::string& takeover_socket) {
  auto loaded = config::loadConfigFile(path);
  if (!reportErrors(loaded)) {
    std::cerr << "switchyard: refusing to start with an invalid configuration\n";
    return 1;
  }
  // Signals are handled by the control thread's signal_set; block them in every thread so
  // that none is delivered to a worker by default action first.
  std::signal(SIGPIPE, SIG_IGN);
  proxy::Server server(std::make_shared<const config::Config>(std::move(loaded.config)),
                       takeover_socket);
  auto bound = server.bind();
  if (!bound) {
    spdlog::error("{}", bound.error().message);
    return 1;
  }
  return server.run();
}

}  // namespace

int main(int argc, char** argv) {
  spdlog::set_default_logger(spdlog::stderr_color_mt("switchyard"));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");

  CLI::App app{"Switchyard: a service-discovery and load-balancing HTTP gateway", "switchyard"};
  app.set_version_flag("--version", std::string("switchyard ") + SWITCHYARD_VERSION);
  app.require_subcommand(1);

  std::string config_path;
  auto* serve = app.add_subcommand("serve", "Run the gateway (SIGHUP reloads, SIGTERM drains)");
  serve->add_option("--config,-c", config_path, "YAML configuration file")->required();
  std::string takeover_socket;
  serve->add_option("--takeover-socket", takeover_socket,
                    "Unix socket of binary upgrades: take the listening sockets of the gateway "
                    "running there (it then drains and exits), and offer ours there to the next");
  auto* check = app.add_subcommand("check", "Validate a configuration file and print every error");
  check->add_option("--config,-c", config_path, "YAML configuration file")->required();

  proxy::AnnounceCommand announce(app);
  proxy::CtlCommand ctl(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version exit 0; a bad flag is a usage error: exit status 2.
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (serve->parsed()) return runServe(config_path, takeover_socket);
  if (check->parsed()) return runCheck(config_path);
  if (announce.parsed()) return announce.run();
  if (ctl.parsed()) return ctl.run();
  return 2;
}
