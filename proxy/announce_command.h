#pragma once
// `switchyard announce`: registers one instance in a ServerSet until SIGTERM/SIGINT (README.md,
// "Command line"). This file is the command-line glue: the flags on a CLI11 subcommand, their
// checks (bad flags: a clear message and exit status 2), and the control io_context on the main
// thread that runs a ZkSession and a discovery::Announcer with signals through asio.

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"
#include "discovery/announcer.h"

namespace switchyard::proxy {

class AnnounceCommand {
 public:
  // Adds the `announce` subcommand and its flags to `app`.
  explicit AnnounceCommand(CLI::App& app);

  bool parsed() const { return command_->parsed(); }
  // After parsing: runs until a signal; returns the exit status (0, or 2 on bad flags).
  int run();

  // The announcer's options from the flags, or what is wrong with them.
  Result<discovery::Announcer::Options> options() const;

 private:
  CLI::App* command_;
  std::string zk_;
  std::string path_;
  std::vector<std::string> endpoints_;
  std::string service_endpoint_;
  int64_t shard_ = -1;
  std::string health_url_;
  uint32_t health_interval_ms_ = 1000;
  uint32_t health_timeout_ms_ = 500;
  uint32_t unhealthy_after_ = 2;
  uint32_t healthy_after_ = 1;
  uint32_t session_timeout_ms_ = 10000;
  uint32_t stop_timeout_ms_ = 5000;
};

}  // namespace switchyard::proxy
