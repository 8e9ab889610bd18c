// An HTTP/1.1 Upgrade (WebSocket handshake) through the proxy: the 101 passes, then the
// connection is a byte tunnel both ways.

#include <gtest/gtest.h>

#include "tests/support/checksum.h"
#include "tests/support/gateway.h"
#include "tests/support/http_client.h"
#include "tests/support/test_backend.h"

namespace switchyard::support {
namespace {

using namespace std::chrono_literals;

constexpr const char* kConfig = R"(
workers: 1
listeners:
  - name: web
    address: "127.0.0.1:${LISTEN}"
    protocol: http
    routes:
      - match: { path_prefix: "/" }
        cluster: web
clusters:
  - name: web
    discovery: { static: ["${WEB}"] }
admin:
  address: "127.0.0.1:${ADMIN}"
)";

const HeaderList kHandshake = {{"Connection", "Upgrade"},
                               {"Upgrade", "websocket"},
                               {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="},
                               {"Sec-WebSocket-Version", "13"}};

class UpgradeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(gateway_.start(kConfig, {{"WEB", backend_.address()}}));
    ASSERT_TRUE(client_.connect(gateway_.port())) << client_.lastError();
  }
  TestBackend backend_{"b1"};
  Gateway gateway_;
  HttpClient client_;
};

TEST_F(UpgradeTest, WebSocketHandshakePassesAndBytesEchoBothWays) {
  HttpResponse r = client_.roundTrip(HttpClient::buildRequest("GET", "/ws", kHandshake));
  ASSERT_TRUE(r.ok()) << r.describe();
  ASSERT_EQ(r.status, 101) << r.describe();
  EXPECT_EQ(r.header("sec-websocket-accept"), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  EXPECT_EQ(r.header("x-backend"), "b1");
  ASSERT_TRUE(backend_.waitForRequests(1, 2s));
  BackendRequest seen = backend_.requests()[0];
  EXPECT_EQ(seen.header("upgrade"), "websocket") << "Upgrade must be forwarded for a tunnel";
  EXPECT_NE(seen.header("connection").find("pgrade"), std::string::npos);

  for (const std::string& msg :
       std::vector<std::string>{"hello", "second message", std::string(1, '\0') + "binary\xff"}) {
    ASSERT_TRUE(client_.send(msg));
    EXPECT_EQ(client_.readRaw(msg.size(), 3s), msg);
  }
  // A large burst both ways: the tunnel must not lose or reorder bytes.
  const size_t size = 1 << 20;
  std::string big = Checksum::pattern(0, size);
  ASSERT_TRUE(client_.send(big));
  std::string back = client_.readRaw(size, 10s);
  ASSERT_EQ(back.size(), size);
  EXPECT_TRUE(back == big);
}

TEST_F(UpgradeTest, ClientCloseEndsTheTunnel) {
  HttpResponse r = client_.roundTrip(HttpClient::buildRequest("GET", "/ws", kHandshake));
  ASSERT_TRUE(r.ok() && r.status == 101) << r.describe();
  ASSERT_TRUE(client_.send("x"));
  EXPECT_EQ(client_.readRaw(1, 3s), "x");
  client_.shutdownWrite();
  // The backend sees EOF and closes its side; the proxy passes the close back.
  EXPECT_TRUE(client_.waitForClose(3s)) << "the tunnel stayed open after the client closed";
}

TEST_F(UpgradeTest, PlainRequestsStillWorkBesideTunnels) {
  HttpResponse r = client_.roundTrip(HttpClient::buildRequest("GET", "/ws", kHandshake));
  ASSERT_TRUE(r.ok() && r.status == 101) << r.describe();
  HttpResponse plain = HttpClient::get(gateway_.port(), "/");
  EXPECT_TRUE(plain.ok() && plain.status == 200) << plain.describe();
}

}  // namespace
}  // namespace switchyard::support
