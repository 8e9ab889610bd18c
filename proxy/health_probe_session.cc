#include "proxy/health_probe_session.h"

#include "proxy/health_probe_h2.h"
#include "proxy/health_probe_http1.h"
#include "proxy/tls_client_context.h"

namespace switchyard::proxy {

std::string ProbeTarget::authority() const {
  if (tls && !tls->settings().server_name.empty()) return tls->settings().server_name;
  return id;
}

H2Headers ProbeTarget::h2Request() const {
  return {{":method", "GET"},
          {":scheme", tls ? "https" : "http"},
          {":authority", authority()},
          {":path", path},
          {"user-agent", "switchyard-health"}};
}

ClientStream ProbeTarget::stream(boost::asio::io_context& io) const {
  boost::asio::ip::tcp::socket socket(io);
  return tls ? ClientStream(std::move(socket), tls, id) : ClientStream(std::move(socket));
}

std::unique_ptr<HealthProbeSession> HealthProbeSession::create(boost::asio::io_context& io,
                                                               config::UpstreamProtocol protocol) {
  if (protocol == config::UpstreamProtocol::kHttp1) return std::make_unique<HealthProbeHttp1>(io);
  return std::make_unique<HealthProbeH2>(io);
}

}  // namespace switchyard::proxy
