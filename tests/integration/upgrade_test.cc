// An HTTP/1.1 Upgrade (WebSocket handshake) through the proxy: the 101 passes, then the
// connection is a byte tunnel both ways; a half-close passes on (plain and TLS), and a tunnel to
// an instance that left its set closes at the cluster's drain_timeout_ms.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "tests/support/admin_metrics.h"
#include "tests/support/checksum.h"
#include "tests/support/eventually.h"
#include "tests/support/gateway.h"
#include "tests/support/http_client.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_backend.h"
#include "tests/support/test_ca.h"

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

// ---- A departed instance's tunnel ----

constexpr const char* kFileConfig = R"(
workers: 1
listeners:
  - name: web
    address: "127.0.0.1:${LISTEN}"
    routes:
      - cluster: web
clusters:
  - name: web
    discovery: { file: "${FILE}" }
    drain_timeout_ms: 1500
admin:
  address: "127.0.0.1:${ADMIN}"
)";

std::string instanceStatus(Gateway& gateway, const std::string& address) {
  HttpResponse r = HttpClient::get(gateway.adminPort(), "/clusters", {}, 2s);
  auto json = nlohmann::json::parse(r.body, nullptr, false);
  if (json.is_object() && json.contains("clusters"))
    for (const auto& c : json["clusters"])
      for (const auto& i : c["instances"])
        if (i["address"] == address) return i["status"].get<std::string>();
  return "";
}

class UpgradeDrainTest : public ::testing::Test {
 protected:
  // Starts the gateway over a and b and opens a WebSocket tunnel on ws_: the backend it reached
  // (null, with the failure recorded, when it could not).
  TestBackend* openTunnel() {
    file_ = dir_.writeFile("instances.yaml",
                           "- \"" + a_.address() + "\"\n- \"" + b_.address() + "\"\n");
    if (!gateway_.start(kFileConfig, {{"FILE", file_}})) return nullptr;
    if (!ws_.connect(gateway_.port())) {
      ADD_FAILURE() << ws_.lastError();
      return nullptr;
    }
    HttpResponse r = ws_.roundTrip(HttpClient::buildRequest("GET", "/ws", kHandshake));
    if (!r.ok() || r.status != 101) {
      ADD_FAILURE() << r.describe();
      return nullptr;
    }
    return r.header("x-backend") == "a" ? &a_ : &b_;
  }

  // The open tunnel still carries bytes, then is closed drain_timeout_ms after `since` and
  // counted; the gateway goes on answering through the other instance.
  void expectClosedAtTheDrainTimeout(std::chrono::steady_clock::time_point since) {
    ASSERT_TRUE(ws_.send("still here"));
    EXPECT_EQ(ws_.readRaw(10, 3s), "still here");
    EXPECT_TRUE(ws_.waitForClose(10s)) << "the tunnel outlived its instance's drain timeout";
    EXPECT_GE(std::chrono::steady_clock::now() - since, 1400ms)
        << "closed before the drain timeout";
    EXPECT_EQ(metricSample(gateway_.adminPort(),
                           "switchyard_errors_total{listener=\"web\",cause=\"drain-timeout\"}"),
              1);
    HttpResponse plain = HttpClient::get(gateway_.port(), "/");
    EXPECT_TRUE(plain.ok() && plain.status == 200) << plain.describe();
  }

  TestBackend a_{"a"}, b_{"b"};
  TempDir dir_;
  std::string file_;
  Gateway gateway_;
  HttpClient ws_;
};

TEST_F(UpgradeDrainTest, ATunnelToADepartedInstanceClosesAtTheDrainTimeout) {
  TestBackend* on = openTunnel();
  ASSERT_NE(on, nullptr);
  TestBackend& other = on == &a_ ? b_ : a_;

  const auto removed = std::chrono::steady_clock::now();
  dir_.writeFile("instances.yaml", "- \"" + other.address() + "\"\n");
  ASSERT_TRUE(
      eventually([&] { return instanceStatus(gateway_, on->address()) == "draining"; }, 5s));
  // Departed: the open tunnel still carries bytes until drain_timeout_ms, then it is closed.
  expectClosedAtTheDrainTimeout(removed);
}

// An operator's drain sets the weight to 0 and keeps the instance in its set: without its own
// deadline the tunnel would never close (as TcpSession's tunnels, TcpProxyTest).
TEST_F(UpgradeDrainTest, ATunnelToAnInstanceAnOperatorDrainedClosesAtTheDrainTimeout) {
  TestBackend* on = openTunnel();
  ASSERT_NE(on, nullptr);

  const auto drained = std::chrono::steady_clock::now();
  HttpClient admin;
  ASSERT_TRUE(admin.connect(gateway_.adminPort()));
  HttpResponse r = admin.roundTrip(HttpClient::buildRequest(
      "POST", "/clusters/web/instances/" + on->address() + "/drain", {{"Connection", "close"}}));
  ASSERT_EQ(r.status, 200) << r.describe() << r.body;
  expectClosedAtTheDrainTimeout(drained);
}

// ---- Over TLS ----

constexpr const char* kTlsConfig = R"(
workers: 1
listeners:
  - name: secure
    address: "127.0.0.1:${LISTEN}"
    protocol: https
    tls: { certificate: "${CERT}", private_key: "${KEY}" }
    routes:
      - cluster: web
clusters:
  - name: web
    discovery: { static: ["${WEB}"] }
admin:
  address: "127.0.0.1:${ADMIN}"
)";

// A blocking TLS client on OpenSSL itself (every operation bounded by socket timeouts) that can
// send its close_notify and keep reading: a half-close, which TlsTestClient does not do. It
// does not verify the gateway's certificate: the test is about the tunnel.
class TlsTunnelClient {
 public:
  ~TlsTunnelClient() {
    if (ssl_) SSL_free(ssl_);
    if (ctx_) SSL_CTX_free(ctx_);
    if (fd_ >= 0) ::close(fd_);
  }
  bool connect(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return false;
    timeval tv{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    ctx_ = SSL_CTX_new(TLS_client_method());
    ssl_ = SSL_new(ctx_);
    SSL_set_fd(ssl_, fd_);
    return SSL_connect(ssl_) == 1;
  }
  bool send(std::string_view bytes) {
    while (!bytes.empty()) {
      const int n = SSL_write(ssl_, bytes.data(), static_cast<int>(bytes.size()));
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }
  // Reads until the bytes received hold `until`; false on an error or the end.
  bool readUntil(std::string_view until) {
    while (in_.find(until) == std::string::npos)
      if (!readSome()) return false;
    return true;
  }
  std::size_t find(std::string_view s) const { return in_.find(s); }
  // The first n bytes received (reading more as needed), or fewer at the end.
  std::string take(std::size_t n) {
    while (in_.size() < n && readSome()) {
    }
    std::string out = in_.substr(0, n);
    in_.erase(0, out.size());
    return out;
  }
  // Sends close_notify without waiting for the peer's (SSL_shutdown's first step only).
  bool halfClose() { return SSL_shutdown(ssl_) >= 0; }
  // Reads until the peer ends: true when it sent close_notify (a clean TLS end); what came
  // before it is appended to `rest`.
  bool readToCloseNotify(std::string& rest) {
    while (readSome()) {
    }
    rest += in_;
    in_.clear();
    return ended_cleanly_;
  }

 private:
  bool readSome() {
    char buf[16384];
    const int n = SSL_read(ssl_, buf, sizeof buf);
    if (n > 0) {
      in_.append(buf, static_cast<std::size_t>(n));
      return true;
    }
    ended_cleanly_ = SSL_get_error(ssl_, n) == SSL_ERROR_ZERO_RETURN;
    return false;
  }

  int fd_ = -1;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  std::string in_;
  bool ended_cleanly_ = false;
};

TEST(UpgradeTlsTest, AHalfCloseOverTlsPassesOnBothWays) {
  TestCa ca;
  TestCertificate cert = ca.issue(0x3001);
  TestBackend backend{"b1"};
  Gateway gateway;
  ASSERT_TRUE(gateway.start(
      kTlsConfig,
      {{"CERT", cert.certificate}, {"KEY", cert.private_key}, {"WEB", backend.address()}}));
  TlsTunnelClient client;
  ASSERT_TRUE(client.connect(gateway.port()));
  ASSERT_TRUE(client.send(HttpClient::buildRequest("GET", "/ws", kHandshake)));
  ASSERT_TRUE(client.readUntil("\r\n\r\n"));
  const std::string head = client.take(client.find("\r\n\r\n") + 4);
  ASSERT_EQ(head.rfind("HTTP/1.1 101", 0), 0u) << head;
  ASSERT_TRUE(client.send("ping"));
  EXPECT_EQ(client.take(4), "ping");

  // A burst, then our close_notify at once: the echo of the whole burst still comes back after
  // it (the tunnel only half-closed), then the instance's end arrives as a close_notify.
  const std::string burst = Checksum::pattern(0, 256 * 1024);
  ASSERT_TRUE(client.send(burst));
  ASSERT_TRUE(client.halfClose());
  std::string back;
  const bool clean = client.readToCloseNotify(back);
  EXPECT_EQ(back.size(), burst.size());
  EXPECT_TRUE(back == burst);
  EXPECT_TRUE(clean) << "the tunnel's end did not reach the client as a TLS close_notify";
}

}  // namespace
}  // namespace switchyard::support
