// TLS end to end, with the real binary and real clients: https listeners (curl over TLS with
// ALPN http/1.1 and h2, h2load, keep-alive, large bodies, plain HTTP sent to the TLS port, a client
// that never handshakes, certificate reload on SIGHUP, bad certificate files) and TLS towards
// instances (verified against a CA, wrong CA, wrong name, expired, verify: false, SNI, retry
// elsewhere). Certificates come from a TestCa made with the openssl command line for each test.

#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/support/admin_metrics.h"
#include "tests/support/checksum.h"
#include "tests/support/eventually.h"
#include "tests/support/free_port.h"
#include "tests/support/gateway.h"
#include "tests/support/http_client.h"
#include "tests/support/run_command.h"
#include "tests/support/switchyard_process.h"
#include "tests/support/test_backend.h"
#include "tests/support/test_ca.h"
#include "tests/support/tls_test_backend.h"
#include "tests/support/tls_test_client.h"

namespace switchyard::support {
namespace {

using namespace std::chrono_literals;

// An https listener on ${LISTEN} in front of cluster "web".
constexpr const char* kHttpsListener = R"(
workers: 2
listeners:
  - name: secure
    address: "127.0.0.1:${LISTEN}"
    protocol: https
    tls: { certificate: "${CERT}", private_key: "${KEY}" }
    limits: { header_timeout_ms: ${HEADER_TIMEOUT} }
    routes:
      - cluster: web
clusters:
  - name: web
    discovery: { static: [${WEB}] }
admin:
  address: "127.0.0.1:${ADMIN}"
)";

// A plain listener in front of cluster "web" whose instances speak TLS (${TLS} is its tls map).
constexpr const char* kTlsUpstream = R"(
workers: 1
listeners:
  - name: web
    address: "127.0.0.1:${LISTEN}"
    routes:
      - cluster: web
clusters:
  - name: web
    discovery: { static: [${WEB}] }
    tls: ${TLS}
    retries: { attempts: ${ATTEMPTS} }
admin:
  address: "127.0.0.1:${ADMIN}"
)";

// The value of a /metrics sample (the first line starting with `prefix`), or -1.
double handshakes(Gateway& gateway, const std::string& result) {
  return metricSample(
      gateway.adminPort(),
      "switchyard_downstream_tls_handshakes_total{listener=\"secure\",result=\"" + result + "\"}");
}

std::string url(const Gateway& gateway, const std::string& path) {
  return "https://localhost:" + std::to_string(gateway.port()) + path;
}

// curl's arguments for a request to the gateway over TLS, verified against `ca`.
std::vector<std::string> curlTls(const TestCa& ca, std::vector<std::string> more) {
  std::vector<std::string> argv = {"curl",       "-sS", "--http1.1", "--cacert", ca.caCertificate(),
                                   "--max-time", "20"};
  argv.insert(argv.end(), more.begin(), more.end());
  return argv;
}

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void copyFile(const std::string& from, const std::string& to) {
  std::filesystem::copy_file(from, to, std::filesystem::copy_options::overwrite_existing);
}

class TlsListenerTest : public ::testing::Test {
 protected:
  // Starts the gateway with certificate `cert` (copied to files the test may replace later).
  void start(const TestCertificate& cert, uint32_t header_timeout_ms = 10000) {
    cert_file_ = files_.file("server.pem");
    key_file_ = files_.file("server.key");
    copyFile(cert.certificate, cert_file_);
    copyFile(cert.private_key, key_file_);
    ASSERT_TRUE(
        gateway_.start(kHttpsListener, {{"CERT", cert_file_},
                                        {"KEY", key_file_},
                                        {"HEADER_TIMEOUT", std::to_string(header_timeout_ms)},
                                        {"WEB", Gateway::addressList({backend_.address()})}}));
  }

  TestCa ca_;
  TestBackend backend_{"b1"};
  TempDir files_{"switchyard-tls"};
  std::string cert_file_;
  std::string key_file_;
  Gateway gateway_;
};

TEST_F(TlsListenerTest, CurlOverTlsNegotiatesHttp11AndTheBackendSeesHttps) {
  backend_.setBehavior(BackendBehavior::echo());
  start(ca_.issue(0x1001));
  CommandResult r =
      runCommand(curlTls(ca_, {"-v", "-w", "\\n%{http_code} %{http_version} %{ssl_verify_result}",
                               url(gateway_, "/hello?x=1")}));
  ASSERT_EQ(r.exit_code, 0) << r.output();
  EXPECT_NE(r.err.find("ALPN: server accepted http/1.1"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("\n200 1.1 0"), std::string::npos) << r.out;
  const auto body = nlohmann::json::parse(r.out.substr(0, r.out.rfind('\n')));
  EXPECT_EQ(body["target"], "/hello?x=1");
  bool proto_https = false;
  for (const auto& h : body["headers"])
    if (h[0] == "X-Forwarded-Proto" || h[0] == "x-forwarded-proto") proto_https = h[1] == "https";
  EXPECT_TRUE(proto_https) << body.dump();
  EXPECT_EQ(handshakes(gateway_, "ok"), 1);
}

TEST_F(TlsListenerTest, AClientWithoutAlpnGetsHttp11) {
  start(ca_.issue(0x1001));
  CommandResult r =
      runCommand(curlTls(ca_, {"--no-alpn", "-w", "\\n%{http_code}", url(gateway_, "/")}));
  ASSERT_EQ(r.exit_code, 0) << r.output();
  EXPECT_NE(r.out.find("hello from b1\n200"), std::string::npos) << r.out;
  TlsTestClient client;
  ASSERT_TRUE(client.connect(gateway_.port(), ca_.caCertificate(), "localhost", {"spdy/3"}))
      << client.lastError();
  EXPECT_EQ(client.alpn(), "");  // nothing it knows: no ALPN answer, HTTP/1.1 it is
  EXPECT_NE(client.roundTrip("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n").find("hello"),
            std::string::npos)
      << client.lastError();
}

TEST_F(TlsListenerTest, CurlHttp2OverTlsNegotiatesH2) {
  backend_.setBehavior(BackendBehavior::echo());
  start(ca_.issue(0x1001));
  CommandResult r =
      runCommand({"curl", "-sS", "--http2", "--cacert", ca_.caCertificate(), "--max-time", "20",
                  "-v", "-w", "\\n%{http_code} %{http_version}", url(gateway_, "/h2?x=1")});
  ASSERT_EQ(r.exit_code, 0) << r.output();
  EXPECT_NE(r.err.find("ALPN: server accepted h2"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("\n200 2"), std::string::npos) << r.out;
  const auto body = nlohmann::json::parse(r.out.substr(0, r.out.rfind('\n')));
  EXPECT_EQ(body["target"], "/h2?x=1");
  bool proto_https = false;
  for (const auto& h : body["headers"])
    if (h[0] == "X-Forwarded-Proto" || h[0] == "x-forwarded-proto") proto_https = h[1] == "https";
  EXPECT_TRUE(proto_https) << body.dump();
  EXPECT_EQ(handshakes(gateway_, "ok"), 1);
}

TEST_F(TlsListenerTest, H2loadOverTlsMultiplexesManyStreams) {
  start(ca_.issue(0x1001));
  CommandResult r =
      runCommand({"h2load", "-n", "400", "-c", "4", "-m", "20", url(gateway_, "/")}, 60s);
  ASSERT_EQ(r.exit_code, 0) << r.output();
  EXPECT_NE(r.out.find("Application protocol: h2"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("400 succeeded, 0 failed, 0 errored"), std::string::npos) << r.out;
  EXPECT_EQ(handshakes(gateway_, "ok"), 4);
}

TEST_F(TlsListenerTest, KeepAliveCarriesManyRequestsOnOneHandshake) {
  start(ca_.issue(0x1001));
  std::vector<std::string> args = {"-w", "%{http_code}\\n"};
  for (int i = 0; i < 5; ++i) {
    args.push_back(url(gateway_, "/" + std::to_string(i)));
    args.push_back("-o");
    args.push_back("/dev/null");
  }
  CommandResult r = runCommand(curlTls(ca_, args));
  ASSERT_EQ(r.exit_code, 0) << r.output();
  EXPECT_EQ(r.out, "200\n200\n200\n200\n200\n");
  EXPECT_EQ(handshakes(gateway_, "ok"), 1);

  TlsTestClient client;
  ASSERT_TRUE(client.connect(gateway_.port(), ca_.caCertificate(), "localhost"))
      << client.lastError();
  EXPECT_EQ(client.alpn(), "http/1.1");
  for (int i = 0; i < 20; ++i) {
    const std::string response = client.roundTrip("GET /k HTTP/1.1\r\nHost: localhost\r\n\r\n");
    ASSERT_NE(response.find("hello from b1"), std::string::npos) << i << ": " << client.lastError();
  }
  EXPECT_EQ(handshakes(gateway_, "ok"), 2);
  const std::string ok_requests =
      "switchyard_downstream_requests_total{listener=\"secure\",code_class=\"2xx\"}";
  EXPECT_TRUE(eventually([&] { return metricSample(gateway_.adminPort(), ok_requests) == 25; }, 5s))
      << metricSample(gateway_.adminPort(), ok_requests);
}

TEST_F(TlsListenerTest, ConnectionCloseEndsWithCloseNotify) {
  start(ca_.issue(0x1001));
  TlsTestClient client;
  ASSERT_TRUE(client.connect(gateway_.port(), ca_.caCertificate(), "localhost"));
  const std::string response =
      client.roundTrip("GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
  ASSERT_NE(response.find("hello from b1"), std::string::npos) << client.lastError();
  EXPECT_NE(response.find("connection: close"), std::string::npos) << response;
  EXPECT_TRUE(client.readUntilCloseNotify()) << client.lastError();
  EXPECT_TRUE(eventually(
      [&] {
        return metricSample(gateway_.adminPort(),
                            "switchyard_downstream_connections_open{listener=\"secure\"}") == 0;
      },
      5s));
}

TEST_F(TlsListenerTest, SessionsResumeOnAnyWorker) {
  start(ca_.issue(0x1001));
  TlsTestClient first;
  ASSERT_TRUE(first.connect(gateway_.port(), ca_.caCertificate(), "localhost"));
  ASSERT_NE(first.roundTrip("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n").find("hello"),
            std::string::npos);
  EXPECT_FALSE(first.sessionReused());
  // Several connections, so that both workers (SO_REUSEPORT) take some: the session cache and
  // ticket keys belong to the listener's context, which they share.
  for (int i = 0; i < 6; ++i) {
    TlsTestClient again;
    again.resumeFrom(first);
    ASSERT_TRUE(again.connect(gateway_.port(), ca_.caCertificate(), "localhost"))
        << again.lastError();
    EXPECT_TRUE(again.sessionReused()) << i;
    EXPECT_NE(again.roundTrip("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n").find("hello"),
              std::string::npos);
  }
}

TEST_F(TlsListenerTest, LargeBodiesGoBothWaysIntact) {
  constexpr uint64_t kUp = 24 << 20;
  constexpr uint64_t kDown = 40 << 20;
  backend_.setHandler([](const BackendRequest& req) {
    return req.method == "POST" ? BackendBehavior::echo() : BackendBehavior::stream(kDown, true);
  });
  start(ca_.issue(0x1001));
  const std::string upload = files_.file("upload.bin");
  {
    std::ofstream out(upload, std::ios::binary);
    const std::string piece = Checksum::pattern(0, kUp);
    out.write(piece.data(), static_cast<std::streamsize>(piece.size()));
  }
  CommandResult up =
      runCommand(curlTls(ca_, {"--data-binary", "@" + upload, "-H",
                               "Content-Type: application/octet-stream", url(gateway_, "/upload")}),
                 60s);
  ASSERT_EQ(up.exit_code, 0) << up.output();
  const auto echoed = nlohmann::json::parse(up.out);
  EXPECT_EQ(echoed["body_bytes"], kUp);
  EXPECT_EQ(echoed["body_checksum"], Checksum::ofPattern(kUp).hex());

  const std::string download = files_.file("download.bin");
  CommandResult down = runCommand(
      curlTls(ca_, {"-o", download, "-w", "%{http_code} %{size_download}", url(gateway_, "/big")}),
      60s);
  ASSERT_EQ(down.exit_code, 0) << down.output();
  EXPECT_EQ(down.out, "200 " + std::to_string(kDown));
  Checksum got;
  got.update(readFile(download));
  EXPECT_EQ(got.hex(), Checksum::ofPattern(kDown).hex());
}

TEST_F(TlsListenerTest, PlainHttpToTheTlsPortIsClosedAndCountedWhileOthersWork) {
  start(ca_.issue(0x1001));
  TlsTestClient established;
  ASSERT_TRUE(established.connect(gateway_.port(), ca_.caCertificate(), "localhost"));
  HttpClient plain;
  ASSERT_TRUE(plain.connect(gateway_.port())) << plain.lastError();
  ASSERT_TRUE(plain.send("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"));
  std::string received;
  EXPECT_TRUE(plain.waitForClose(5s, &received)) << "the gateway kept a plain HTTP client";
  EXPECT_EQ(received.find("HTTP/1.1"), std::string::npos) << received;
  EXPECT_TRUE(eventually([&] { return handshakes(gateway_, "failed") == 1; }, 5s))
      << handshakes(gateway_, "failed");
  // Others are unaffected: an established connection and a new one.
  EXPECT_NE(
      established.roundTrip("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n").find("hello from b1"),
      std::string::npos)
      << established.lastError();
  CommandResult r =
      runCommand(curlTls(ca_, {"-w", "%{http_code}", "-o", "/dev/null", url(gateway_, "/")}));
  EXPECT_EQ(r.out, "200") << r.output();
  EXPECT_TRUE(gateway_.process().running());
}

TEST_F(TlsListenerTest, AClientThatNeverHandshakesIsClosedAtTheHeaderTimeout) {
  start(ca_.issue(0x1001), /*header_timeout_ms=*/300);
  HttpClient silent;
  ASSERT_TRUE(silent.connect(gateway_.port())) << silent.lastError();
  const auto began = std::chrono::steady_clock::now();
  EXPECT_TRUE(silent.waitForClose(5s)) << "a silent client was kept past the header timeout";
  EXPECT_GE(std::chrono::steady_clock::now() - began, 250ms);
  EXPECT_TRUE(eventually([&] { return handshakes(gateway_, "timeout") == 1; }, 5s));
  EXPECT_EQ(metricSample(gateway_.adminPort(),
                         "switchyard_downstream_connections_open{listener=\"secure\"}"),
            0);
}

TEST_F(TlsListenerTest, SighupReloadsTheCertificateForNewConnectionsOnly) {
  const TestCertificate first = ca_.issue(0x1001);
  const TestCertificate second = ca_.issue(0x1002);
  start(first);
  TlsTestClient old_client;
  ASSERT_TRUE(old_client.connect(gateway_.port(), ca_.caCertificate(), "localhost"));
  EXPECT_EQ(old_client.serial(), "1001");
  ASSERT_NE(old_client.roundTrip("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n").find("hello"),
            std::string::npos);

  copyFile(second.certificate, cert_file_);
  copyFile(second.private_key, key_file_);
  gateway_.process().sendSignal(SIGHUP);
  std::string serial;
  EXPECT_TRUE(eventually(
      [&] {
        TlsTestClient c;
        serial = c.connect(gateway_.port(), ca_.caCertificate(), "localhost") ? c.serial() : "";
        return serial == "1002";
      },
      10s))
      << "new connections still see serial " << serial;
  // The connection made before the reload keeps its certificate and keeps working.
  EXPECT_NE(old_client.roundTrip("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n").find("hello"),
            std::string::npos)
      << old_client.lastError();
  EXPECT_EQ(old_client.serial(), "1001");

  // A broken file at the next reload: the certificate that works stays, and the log says why.
  std::ofstream(cert_file_, std::ios::trunc) << "not a certificate\n";
  gateway_.process().sendSignal(SIGHUP);
  EXPECT_TRUE(eventually(
      [&] {
        return gateway_.process().stderrText().find(
                   "it keeps its current certificate (serial 1002)") != std::string::npos;
      },
      10s))
      << gateway_.process().stderrText();
  TlsTestClient after;
  ASSERT_TRUE(after.connect(gateway_.port(), ca_.caCertificate(), "localhost"))
      << after.lastError();
  EXPECT_EQ(after.serial(), "1002");
}

TEST_F(TlsListenerTest, AnExpiredCertificateIsServedWithAWarning) {
  start(ca_.issue(0x1003, {.expired = true}));
  EXPECT_NE(gateway_.process().stderrText().find("expired on"), std::string::npos)
      << gateway_.process().stderrText();
  CommandResult r = runCommand(curlTls(ca_, {url(gateway_, "/")}));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("expired"), std::string::npos) << r.err;
}

// `check` and `serve` on a configuration whose certificate or key is wrong.
class TlsConfigTest : public ::testing::Test {
 protected:
  std::string config(const std::string& cert, const std::string& key) {
    return fillTemplate(R"(
listeners:
  - name: secure
    address: "127.0.0.1:${PORT}"
    protocol: https
    tls: { certificate: "${CERT}", private_key: "${KEY}" }
    routes: [ { cluster: web } ]
clusters:
  - name: web
    discovery: { static: ["127.0.0.1:1"] }
admin: { address: "127.0.0.1:${ADMIN}" }
)",
                        {{"CERT", cert},
                         {"KEY", key},
                         {"PORT", std::to_string(freeLoopbackPort())},
                         {"ADMIN", std::to_string(freeLoopbackPort())}});
  }
  // `check` fails with `message`, and so does `serve`.
  void expectRefused(const std::string& yaml, const std::string& message) {
    CommandResult check = SwitchyardProcess::runCheck(yaml);
    EXPECT_EQ(check.exit_code, 1) << check.output();
    EXPECT_NE(check.err.find(message), std::string::npos) << check.output();
    const std::string file = files_.writeFile("serve.yaml", yaml);
    CommandResult serve = SwitchyardProcess::run({"serve", "--config", file}, 10s);
    EXPECT_EQ(serve.exit_code, 1) << serve.output();
    EXPECT_NE(serve.err.find(message), std::string::npos) << serve.output();
  }

  TestCa ca_;
  TempDir files_{"switchyard-tls"};
};

TEST_F(TlsConfigTest, MissingFilesAreNamed) {
  const TestCertificate c = ca_.issue(0x1001);
  expectRefused(config(files_.file("nowhere.pem"), c.private_key),
                "listener secure: certificate " + files_.file("nowhere.pem") +
                    ": cannot read it: No such file or directory");
  expectRefused(config(c.certificate, files_.file("nowhere.key")),
                "listener secure: private key " + files_.file("nowhere.key") +
                    ": cannot read it: No such file or directory");
}

TEST_F(TlsConfigTest, AFileThatIsNotPemIsSaidSo) {
  const TestCertificate c = ca_.issue(0x1001);
  const std::string junk = files_.writeFile("junk.pem", "hello\n");
  expectRefused(config(junk, c.private_key),
                "listener secure: certificate " + junk + ": not a PEM certificate chain");
  expectRefused(config(c.certificate, junk),
                "listener secure: private key " + junk + ": not a PEM private key");
}

TEST_F(TlsConfigTest, AKeyOfAnotherCertificateIsAMismatch) {
  const TestCertificate a = ca_.issue(0x1001);
  const TestCertificate b = ca_.issue(0x1002);
  expectRefused(config(a.certificate, b.private_key),
                "private key " + b.private_key + " does not match certificate " + a.certificate);
}

TEST_F(TlsConfigTest, AGoodPairChecksOk) {
  const TestCertificate c = ca_.issue(0x1001);
  CommandResult check = SwitchyardProcess::runCheck(config(c.certificate, c.private_key));
  EXPECT_EQ(check.exit_code, 0) << check.output();
}

// ---- TLS towards the instances ----

class TlsUpstreamTest : public ::testing::Test {
 protected:
  ::testing::AssertionResult start(const std::string& tls, std::initializer_list<std::string> web,
                                   int attempts = 2) {
    return gateway_.start(
        kTlsUpstream,
        {{"TLS", tls}, {"WEB", Gateway::addressList(web)}, {"ATTEMPTS", std::to_string(attempts)}});
  }
  HttpResponse get(const std::string& path = "/") {
    return HttpClient::get(gateway_.port(), path, {}, 10s);
  }
  std::string caTls(const TestCa& ca) { return "{ ca: \"" + ca.caCertificate() + "\" }"; }

  TestCa ca_;
  Gateway gateway_;
};

TEST_F(TlsUpstreamTest, VerifiedAgainstTheConfiguredCaAndPooled) {
  TlsTestBackend backend("tb", ca_.issue(0x2001));
  ASSERT_TRUE(start(caTls(ca_), {backend.address()}));
  for (int i = 0; i < 5; ++i) {
    HttpResponse r = get("/" + std::to_string(i));
    ASSERT_EQ(r.status, 200) << r.describe();
    EXPECT_EQ(r.body, "hello from tb");
  }
  EXPECT_EQ(backend.requests(), 5u);
  EXPECT_EQ(backend.handshakes(), 1u);      // one pooled connection carried them all
  EXPECT_EQ(backend.lastServerName(), "");  // an IP address is verified, not sent as SNI
}

TEST_F(TlsUpstreamTest, ServerNameIsSentAsSniAndVerified) {
  TlsTestBackend backend("tb", ca_.issue(0x2001, {.names = {"DNS:api.internal"}}));
  ASSERT_TRUE(start("{ ca: \"" + ca_.caCertificate() + "\", server_name: api.internal }",
                    {backend.address()}));
  HttpResponse r = get();
  ASSERT_EQ(r.status, 200) << r.describe();
  EXPECT_EQ(backend.lastServerName(), "api.internal");
}

TEST_F(TlsUpstreamTest, AnotherCaIs502WithTheReason) {
  TestCa other("Another CA");
  TlsTestBackend backend("tb", other.issue(0x2001));
  ASSERT_TRUE(start(caTls(ca_), {backend.address()}, /*attempts=*/0));
  HttpResponse r = get();
  EXPECT_EQ(r.status, 502) << r.describe();
  EXPECT_EQ(r.header("x-switchyard-error"), "upstream-tls") << r.describe();
  EXPECT_NE(r.body.find("TLS handshake failed: certificate verification failed: unable to get "
                        "local issuer certificate"),
            std::string::npos)
      << r.body;
  EXPECT_EQ(backend.requests(), 0u);
  EXPECT_EQ(metricSample(gateway_.adminPort(),
                         "switchyard_errors_total{listener=\"web\",cause=\"upstream-tls\"}"),
            1);
}

TEST_F(TlsUpstreamTest, AWrongNameOrAnExpiredCertificateIs502) {
  TlsTestBackend wrong_name("tb", ca_.issue(0x2001, {.names = {"DNS:elsewhere.example"}}));
  TlsTestBackend expired("tb2", ca_.issue(0x2002, {.expired = true}));
  ASSERT_TRUE(start(caTls(ca_), {wrong_name.address()}, 0));
  HttpResponse r = get();
  EXPECT_EQ(r.status, 502) << r.describe();
  EXPECT_NE(r.body.find("IP address mismatch"), std::string::npos) << r.body;

  Gateway second;
  ASSERT_TRUE(second.start(kTlsUpstream, {{"TLS", caTls(ca_)},
                                          {"WEB", Gateway::addressList({expired.address()})},
                                          {"ATTEMPTS", "0"}}));
  r = HttpClient::get(second.port(), "/", {}, 10s);
  EXPECT_EQ(r.status, 502) << r.describe();
  EXPECT_NE(r.body.find("certificate has expired"), std::string::npos) << r.body;
}

TEST_F(TlsUpstreamTest, VerifyFalseEncryptsWithoutChecking) {
  TestCa other("Another CA");
  TlsTestBackend backend("tb", other.issue(0x2001, {.names = {"DNS:elsewhere.example"}}));
  ASSERT_TRUE(start("{ verify: false }", {backend.address()}));
  HttpResponse r = get();
  EXPECT_EQ(r.status, 200) << r.describe();
  EXPECT_EQ(backend.requests(), 1u);
}

TEST_F(TlsUpstreamTest, AFailedVerificationIsRetriedOnAnotherInstance) {
  TestCa other("Another CA");
  TlsTestBackend bad("bad", other.issue(0x2001));
  TlsTestBackend good("good", ca_.issue(0x2002));
  ASSERT_TRUE(start(caTls(ca_), {bad.address(), good.address()}));
  for (int i = 0; i < 6; ++i) {
    HttpResponse r = get();
    ASSERT_EQ(r.status, 200) << i << ": " << r.describe();
    EXPECT_EQ(r.body, "hello from good");
  }
  EXPECT_EQ(bad.requests(), 0u);
  EXPECT_GE(metricSample(gateway_.adminPort(), "switchyard_cluster_retries_total{cluster=\"web\"}"),
            1);
}

TEST_F(TlsUpstreamTest, Http2ClientsReachTlsInstancesToo) {
  TlsTestBackend backend("tb", ca_.issue(0x2001));
  ASSERT_TRUE(start(caTls(ca_), {backend.address()}));
  for (const char* path : {"/a", "/b"}) {
    CommandResult r = runCommand({"curl", "-sS", "--http2-prior-knowledge", "--max-time", "20",
                                  "-w", "\\n%{http_code} %{http_version}",
                                  "http://127.0.0.1:" + std::to_string(gateway_.port()) + path});
    ASSERT_EQ(r.exit_code, 0) << r.output();
    EXPECT_EQ(r.out, "hello from tb\n200 2") << r.out;
  }
  EXPECT_EQ(backend.requests(), 2u);
  EXPECT_EQ(backend.handshakes(), 1u);  // the second took the pooled TLS connection
}

TEST_F(TlsUpstreamTest, AnHttp2ClientHearsUpstreamTlsToo) {
  TestCa other("Another CA");
  TlsTestBackend backend("tb", other.issue(0x2001));
  ASSERT_TRUE(start(caTls(ca_), {backend.address()}, 0));
  CommandResult r = runCommand({"curl", "-sS", "-i", "--http2-prior-knowledge", "--max-time", "20",
                                "http://127.0.0.1:" + std::to_string(gateway_.port()) + "/"});
  ASSERT_EQ(r.exit_code, 0) << r.output();
  EXPECT_NE(r.out.find("HTTP/2 502"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("x-switchyard-error: upstream-tls"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("TLS handshake failed: certificate verification failed"), std::string::npos)
      << r.out;
  EXPECT_EQ(backend.requests(), 0u);
}

TEST_F(TlsUpstreamTest, APlainInstanceIsAHandshakeFailure) {
  TestBackend plain("plain");
  ASSERT_TRUE(start(caTls(ca_), {plain.address()}, 0));
  HttpResponse r = get();
  EXPECT_EQ(r.status, 502) << r.describe();
  EXPECT_EQ(r.header("x-switchyard-error"), "upstream-tls") << r.describe();
}

}  // namespace
}  // namespace switchyard::support
