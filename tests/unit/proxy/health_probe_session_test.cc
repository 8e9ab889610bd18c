// ProbeTarget's request pieces (the authority, the HTTP/2 headers) and the choice of probe by
// protocol: pure logic, no sockets.

#include "proxy/health_probe_session.h"

#include <gtest/gtest.h>

#include "proxy/health_probe_h2.h"
#include "proxy/health_probe_http1.h"
#include "proxy/tls_client_context.h"

namespace switchyard::proxy {
namespace {

std::shared_ptr<const TlsClientContext> unverified(std::string server_name) {
  config::UpstreamTls settings;
  settings.verify = false;
  settings.server_name = std::move(server_name);
  auto created = TlsClientContext::create(settings, {"h2"});
  EXPECT_TRUE(created) << created.error().message;
  return created ? created.value() : nullptr;
}

TEST(ProbeTargetTest, AuthorityIsTheServerNameWhenConfiguredElseTheEndpoint) {
  ProbeTarget t;
  t.id = "10.0.0.7:8443";
  EXPECT_EQ(t.authority(), "10.0.0.7:8443");
  t.tls = unverified("");
  EXPECT_EQ(t.authority(), "10.0.0.7:8443");
  t.tls = unverified("api.internal");
  EXPECT_EQ(t.authority(), "api.internal");
}

TEST(ProbeTargetTest, H2RequestIsAGetWithTheSchemeOfTheTransport) {
  ProbeTarget t;
  t.id = "10.0.0.7:8080";
  t.path = "/ready?deep=1";
  const H2Headers cleartext = t.h2Request();
  ASSERT_EQ(cleartext.size(), 5u);
  EXPECT_EQ(cleartext[0].name, ":method");
  EXPECT_EQ(cleartext[0].value, "GET");
  EXPECT_EQ(cleartext[1].value, "http");
  EXPECT_EQ(cleartext[2].name, ":authority");
  EXPECT_EQ(cleartext[2].value, "10.0.0.7:8080");
  EXPECT_EQ(cleartext[3].name, ":path");
  EXPECT_EQ(cleartext[3].value, "/ready?deep=1");
  t.tls = unverified("");
  EXPECT_EQ(t.h2Request()[1].value, "https");
}

TEST(HealthProbeSessionTest, TheProbeSpeaksTheClustersProtocol) {
  boost::asio::io_context io;
  auto http1 = HealthProbeSession::create(io, config::UpstreamProtocol::kHttp1);
  EXPECT_NE(dynamic_cast<HealthProbeHttp1*>(http1.get()), nullptr);
  for (auto protocol : {config::UpstreamProtocol::kH2c, config::UpstreamProtocol::kH2}) {
    auto h2 = HealthProbeSession::create(io, protocol);
    EXPECT_NE(dynamic_cast<HealthProbeH2*>(h2.get()), nullptr);
  }
}

TEST(HealthGetRequestTest, IsAClosingGetWithHostAndUserAgent) {
  EXPECT_EQ(discovery::healthGetRequest("api.internal", "/health"),
            "GET /health HTTP/1.1\r\nHost: api.internal\r\nUser-Agent: switchyard-health\r\n"
            "Connection: close\r\n\r\n");
}

}  // namespace
}  // namespace switchyard::proxy
