#pragma once
// `switchyard ctl --admin HOST:PORT [--token-file F] COMMAND`: operator commands against a
// running gateway's admin API (docs/admin-api.md; README.md, "Command line"):
//   clusters                         a table of every cluster's instances
//   weight CLUSTER INSTANCE W        POST .../instances/INSTANCE/weight
//   drain CLUSTER INSTANCE           POST .../instances/INSTANCE/drain
//   undrain CLUSTER INSTANCE         POST .../instances/INSTANCE/undrain
//   split LISTENER INDEX CLUSTER=W...  POST /routes/LISTENER/INDEX/split
// One synchronous HTTP/1.1 exchange (Beast) bounded by --timeout-ms. The gateway's error is
// printed as it says it, and the exit status is 1; bad flags exit 2.

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"

namespace switchyard::proxy {

struct CtlResponse {
  unsigned status = 0;
  std::string body;
};

// One request to the admin API at `admin` ("HOST:PORT"); an error when no answer came in time.
Result<CtlResponse> adminRequest(const std::string& admin, const std::string& method,
                                 const std::string& target, const std::string& body,
                                 const std::string& token, std::chrono::milliseconds timeout);

// The /clusters document as the readable table `ctl clusters` prints; an error when it is not
// such a document.
Result<std::string> renderClustersTable(const std::string& clusters_json);

class CtlCommand {
 public:
  explicit CtlCommand(CLI::App& app);

  bool parsed() const { return command_->parsed(); }
  // After parsing: runs the chosen command; returns the exit status (0, 1 or 2).
  int run();

 private:
  int post(const std::string& target, const std::string& body);

  CLI::App* command_;
  CLI::App* clusters_;
  CLI::App* weight_;
  CLI::App* drain_;
  CLI::App* undrain_;
  CLI::App* split_;
  std::string admin_;
  std::string token_file_;
  uint32_t timeout_ms_ = 5000;
  std::string cluster_;
  std::string instance_;
  double weight_value_ = 1.0;
  std::string listener_;
  uint32_t route_ = 0;
  std::vector<std::string> targets_;
};

}  // namespace switchyard::proxy
