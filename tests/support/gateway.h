#pragma once
// One switchyard under test: picks free ports for its listener and admin API, fills them into a
// config template as ${LISTEN} and ${ADMIN} (with any other ${NAME} the test gives), and runs it
// as a SwitchyardProcess.

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "tests/support/switchyard_process.h"

namespace switchyard::support {

class Gateway {
 public:
  Gateway();

  uint16_t port() const { return port_; }
  uint16_t adminPort() const { return admin_port_; }

  // Fills the template and starts the process; fails with its stderr when it is not ready.
  ::testing::AssertionResult start(const std::string& config_template,
                                   std::map<std::string, std::string> vars = {});
  // The filled config text (after start()).
  const std::string& config() const { return config_; }
  SwitchyardProcess& process() { return *process_; }
  bool started() const { return process_ != nullptr; }

  // Joins backend addresses as a YAML flow sequence body: "\"127.0.0.1:1\", \"127.0.0.1:2\"".
  static std::string addressList(std::initializer_list<std::string> addresses);

 private:
  uint16_t port_;
  uint16_t admin_port_;
  std::string config_;
  std::unique_ptr<SwitchyardProcess> process_;
};

}  // namespace switchyard::support
