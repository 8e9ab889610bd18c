#pragma once
// Test helper: a health probe's target on loopback.

#include <memory>
#include <string>

#include "proxy/health_probe_session.h"

namespace switchyard::testing {

inline proxy::ProbeTarget loopbackTarget(
    uint16_t port, std::shared_ptr<const proxy::TlsClientContext> tls = nullptr) {
  proxy::ProbeTarget t;
  t.id = "127.0.0.1:" + std::to_string(port);
  t.address = {boost::asio::ip::make_address("127.0.0.1"), port};
  t.path = "/health";
  t.tls = std::move(tls);
  return t;
}

}  // namespace switchyard::testing
