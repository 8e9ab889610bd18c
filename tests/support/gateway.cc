#include "tests/support/gateway.h"

#include <stdexcept>

#include "tests/support/free_port.h"

namespace switchyard::support {

Gateway::Gateway() : port_(freeLoopbackPort()), admin_port_(freeLoopbackPort()) {
  // Two probes in a row may return the same port once the first socket is closed.
  while (admin_port_ == port_) admin_port_ = freeLoopbackPort();
}

::testing::AssertionResult Gateway::start(const std::string& config_template,
                                          std::map<std::string, std::string> vars) {
  vars["LISTEN"] = std::to_string(port_);
  vars["ADMIN"] = std::to_string(admin_port_);
  try {
    config_ = fillTemplate(config_template, vars);
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << e.what();
  }
  process_ = std::make_unique<SwitchyardProcess>(config_, admin_port_);
  return process_->start();
}

std::string Gateway::addressList(std::initializer_list<std::string> addresses) {
  std::string out;
  for (const auto& a : addresses) {
    if (!out.empty()) out += ", ";
    out += "\"" + a + "\"";
  }
  return out;
}

}  // namespace switchyard::support
