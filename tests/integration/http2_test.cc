// HTTP/2 downstream (h2c with prior knowledge on a `protocol: http` listener) with real clients:
// curl --http2-prior-knowledge, nghttp, h2load, and tests/support/h2_client.py (python3-h2 and
// raw frames) for what the others cannot send: floods, a client ignoring the stream limit.
// The backends are HTTP/1.1 (TestBackend, H2RawBackend for chunked trailers).

#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <thread>

#include "tests/support/admin_metrics.h"
#include "tests/support/checksum.h"
#include "tests/support/eventually.h"
#include "tests/support/free_port.h"
#include "tests/support/gateway.h"
#include "tests/support/h2_raw_backend.h"
#include "tests/support/http_client.h"
#include "tests/support/run_command.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_backend.h"

namespace switchyard::support {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

constexpr const char* kConfig = R"(
workers: ${WORKERS}
listeners:
  - name: web
    address: "127.0.0.1:${LISTEN}"
    routes:
      - match: { path_prefix: "/" }
        cluster: web
${LIMITS}
clusters:
  - name: web
    discovery: { static: [${BACKENDS}] }
    load_balancer: round_robin
${EXTRA}
admin:
  address: "127.0.0.1:${ADMIN}"
)";

std::map<std::string, std::string> vars(std::initializer_list<std::string> backends,
                                        std::string extra = "", std::string limits = "",
                                        std::string workers = "1") {
  std::string list;
  for (const auto& b : backends) list += (list.empty() ? "\"" : ", \"") + b + "\"";
  return {{"WORKERS", workers}, {"BACKENDS", list}, {"EXTRA", extra}, {"LIMITS", limits}};
}

std::string url(const Gateway& g, const std::string& path = "/") {
  return "http://127.0.0.1:" + std::to_string(g.port()) + path;
}

// curl over h2c; `-w` prints the status and the HTTP version after the body.
CommandResult curlH2(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"curl", "-sS", "--http2-prior-knowledge", "--max-time", "30",
                                   "-w", "\n%{http_code} %{http_version}"};
  argv.insert(argv.end(), args.begin(), args.end());
  return runCommand(argv, 60s);
}

std::string lastLine(const std::string& out) {
  auto end = out.find_last_not_of('\n');
  auto start = out.rfind('\n', end);
  return out.substr(start == std::string::npos ? 0 : start + 1, end - start);
}

std::string clientScript() { return std::string(SWITCHYARD_SOURCE_DIR) + "/tests/support/h2_client.py"; }

json runClient(std::vector<std::string> args) {
  std::vector<std::string> argv = {"/usr/bin/python3", clientScript()};
  argv.insert(argv.end(), args.begin(), args.end());
  CommandResult r = runCommand(argv, 60s);
  EXPECT_EQ(r.exit_code, 0) << r.output();
  try {
    return json::parse(lastLine(r.out));
  } catch (const std::exception& e) {
    ADD_FAILURE() << "h2_client.py printed no JSON: " << r.output();
    return json::object();
  }
}

// h2load's summary line "requests: N total, N started, N done, N succeeded, N failed, ...".
struct H2loadSummary {
  long succeeded = -1, failed = -1, errored = -1, s2xx = -1, s5xx = -1;
};
H2loadSummary parseH2load(const std::string& out) {
  H2loadSummary s;
  std::smatch m;
  if (std::regex_search(out, m,
                        std::regex(R"((\d+) succeeded, (\d+) failed, (\d+) errored)"))) {
    s.succeeded = std::stol(m[1]);
    s.failed = std::stol(m[2]);
    s.errored = std::stol(m[3]);
  }
  if (std::regex_search(out, m, std::regex(R"(status codes: (\d+) 2xx, \d+ 3xx, \d+ 4xx, (\d+) 5xx)"))) {
    s.s2xx = std::stol(m[1]);
    s.s5xx = std::stol(m[2]);
  }
  return s;
}

TEST(Http2Test, CurlGetAndLargeBodiesBothWays) {
  TestBackend backend("a");
  constexpr uint64_t kBig = 24ull << 20;
  backend.setHandler([&](const BackendRequest& r) {
    if (r.target == "/big") return BackendBehavior::stream(kBig, /*chunked=*/true);
    if (r.method == "POST") return BackendBehavior::echo();
    return BackendBehavior::fixed();
  });
  Gateway gateway;
  ASSERT_TRUE(gateway.start(kConfig, vars({backend.address()})));

  CommandResult get = curlH2({url(gateway)});
  ASSERT_EQ(get.exit_code, 0) << get.output();
  EXPECT_EQ(lastLine(get.out), "200 2");
  EXPECT_NE(get.out.find("hello from a"), std::string::npos);

  // A large response: streamed through the data provider, checksum intact.
  TempDir dir;
  const std::string big = dir.file("big.out");
  CommandResult down = curlH2({"-o", big, url(gateway, "/big")});
  ASSERT_EQ(down.exit_code, 0) << down.output();
  EXPECT_EQ(lastLine(down.out), "200 2");
  std::ifstream in(big, std::ios::binary);
  Checksum got;
  std::vector<char> buf(1 << 16);
  while (in.read(buf.data(), buf.size()) || in.gcount() > 0) got.update(buf.data(), in.gcount());
  EXPECT_EQ(got.bytes(), kBig);
  EXPECT_EQ(got.hex(), Checksum::ofPattern(kBig).hex());

  // A large request body: flow control opens the window as the upstream takes the bytes.
  const std::string upload = dir.writeFile("up.bin", Checksum::pattern(0, 8 << 20));
  CommandResult up = curlH2({"--data-binary", "@" + upload, url(gateway, "/up")});
  ASSERT_EQ(up.exit_code, 0) << up.output();
  EXPECT_EQ(lastLine(up.out), "200 2");
  const json echo = json::parse(up.out.substr(0, up.out.rfind('\n')));
  EXPECT_EQ(echo["method"], "POST");
  EXPECT_EQ(echo["body_bytes"], 8 << 20);
  EXPECT_EQ(echo["body_checksum"], Checksum::ofPattern(8 << 20).hex());
  // The upstream saw HTTP/1.1 with a Host from :authority and the forwarding fields.
  const auto reqs = backend.requests();
  ASSERT_FALSE(reqs.empty());
  const BackendRequest& last = reqs.back();
  EXPECT_EQ(last.version, 11u);
  EXPECT_EQ(last.header("host"), "127.0.0.1:" + std::to_string(gateway.port()));
  EXPECT_EQ(last.header("x-forwarded-proto"), "http");
  EXPECT_EQ(last.header("x-forwarded-for"), "127.0.0.1");

  EXPECT_GE(
      metricSample(gateway.adminPort(), "switchyard_http2_connections_total{listener=\"web\"}"), 3);
  EXPECT_GE(metricSample(gateway.adminPort(), "switchyard_http2_streams_total{listener=\"web\"}"),
            3);
}

TEST(Http2Test, NghttpSeveralStreamsAndTrailersFromAChunkedBackend) {
  H2RawBackend backend(
      "HTTP/1.1 200 OK\r\ncontent-type: application/grpc\r\ntransfer-encoding: chunked\r\n"
      "trailer: grpc-status\r\n\r\n5\r\nhello\r\n0\r\ngrpc-status: 0\r\n"
      "grpc-message: fine\r\n\r\n");
  Gateway gateway;
  ASSERT_TRUE(gateway.start(kConfig, vars({backend.address()})));

  CommandResult r = runCommand({"nghttp", "-v", "-n", "-t", "20", "-m", "4", url(gateway, "/t")}, 60s);
  ASSERT_EQ(r.exit_code, 0) << r.output();
  // Four streams on one connection, each a response HEADERS, DATA, then a trailers HEADERS.
  std::regex trailer(R"(recv HEADERS frame <length=\d+, flags=0x05, stream_id=(\d+)>)");
  int trailers = 0;
  for (auto it = std::sregex_iterator(r.out.begin(), r.out.end(), trailer);
       it != std::sregex_iterator(); ++it)
    ++trailers;
  EXPECT_EQ(trailers, 4) << r.out;
  EXPECT_NE(r.out.find("grpc-status: 0"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("grpc-message: fine"), std::string::npos) << r.out;
  EXPECT_EQ(backend.requestCount(), 4u);

  // curl shows the trailers too.
  CommandResult c = curlH2({"-v", url(gateway, "/t")});
  ASSERT_EQ(c.exit_code, 0) << c.output();
  EXPECT_NE(c.out.find("hello"), std::string::npos);
  EXPECT_EQ(lastLine(c.out), "200 2");
}

TEST(Http2Test, H2loadManyStreamsSpreadOverTheInstances) {
  TestBackend a("a"), b("b"), c("c");
  Gateway gateway;
  // No per-try deadline: with 128 streams in flight on two cores shared with the test runner, a
  // try may wait past the adaptive one and be sent again elsewhere (an idempotent GET may), and
  // this test counts exactly what the instances received.
  ASSERT_TRUE(gateway.start(kConfig, vars({a.address(), b.address(), c.address()},
                                          "    retries: { per_try_timeout_ms: 0 }", "", "2")));
  CommandResult r =
      runCommand({"h2load", "-n", "20000", "-c", "4", "-m", "32", url(gateway)}, 120s);
  ASSERT_EQ(r.exit_code, 0) << r.output();
  const H2loadSummary s = parseH2load(r.out);
  EXPECT_EQ(s.succeeded, 20000) << r.out;
  EXPECT_EQ(s.failed, 0) << r.out;
  EXPECT_EQ(s.errored, 0) << r.out;
  EXPECT_EQ(s.s2xx, 20000) << r.out;
  for (TestBackend* backend : {&a, &b, &c})
    EXPECT_GT(backend->requestCount(), 20000u / 3 * 8 / 10) << backend->name();
  EXPECT_EQ(a.requestCount() + b.requestCount() + c.requestCount(), 20000u);
}

TEST(Http2Test, AFailingInstanceFailsItsStreamsOnlyAnd502sCarryTheCause) {
  TestBackend good("good"), bad("bad");
  bad.setBehavior(BackendBehavior::reset());
  Gateway gateway;
  // No retry and no ejection: every stream that meets the bad instance fails, and only those.
  ASSERT_TRUE(gateway.start(kConfig, vars({good.address(), bad.address()},
                                          "    retries: { attempts: 0 }\n"
                                          "    outlier_detection: { consecutive_failures: 100000 }")));
  CommandResult r = runCommand({"h2load", "-n", "200", "-c", "1", "-m", "10", url(gateway)}, 60s);
  ASSERT_EQ(r.exit_code, 0) << r.output();
  const H2loadSummary s = parseH2load(r.out);
  EXPECT_EQ(s.succeeded + s.failed, 200) << r.out;
  EXPECT_EQ(s.errored, 0) << r.out;
  EXPECT_GT(s.s2xx, 50) << r.out;  // one connection: the good instance's streams are fine
  EXPECT_GT(s.s5xx, 50) << r.out;
  EXPECT_EQ(s.s2xx + s.s5xx, 200) << r.out;

  // A 502 is a proper HTTP/2 answer naming the cause.
  bool seen = false;
  for (int i = 0; i < 4 && !seen; ++i) {
    CommandResult one = curlH2({"-i", url(gateway)});
    ASSERT_EQ(one.exit_code, 0) << one.output();
    if (lastLine(one.out) == "502 2") {
      seen = true;
      EXPECT_NE(one.out.find("x-switchyard-error: upstream-reset"), std::string::npos) << one.out;
    }
  }
  EXPECT_TRUE(seen);

  // No instance at all: 503 with the cluster's name.
  Gateway empty;
  ASSERT_TRUE(empty.start(kConfig, vars({"127.0.0.1:" + std::to_string(freeLoopbackPort())},
                                        "    retries: { attempts: 0 }")));
  CommandResult refused = curlH2({"-i", url(empty)});
  ASSERT_EQ(refused.exit_code, 0) << refused.output();
  EXPECT_EQ(lastLine(refused.out), "502 2");
  EXPECT_NE(refused.out.find("x-switchyard-error: connect-failure"), std::string::npos);
}

TEST(Http2Test, RetriesMoveAStreamToAnotherInstance) {
  TestBackend good("good"), flaky("flaky");
  flaky.setBehavior(BackendBehavior::reset());
  const std::string dead = "127.0.0.1:" + std::to_string(freeLoopbackPort());
  // A reset before any response byte (GET is idempotent), then a refused connection: each
  // stream moves to the instance that answers.
  for (const std::string& failing : {flaky.address(), dead}) {
    Gateway gateway;
    ASSERT_TRUE(gateway.start(kConfig, vars({good.address(), failing},
                                            "    retries: { attempts: 2, budget_percent: 100 }")));
    CommandResult r =
        runCommand({"h2load", "-n", "300", "-c", "1", "-m", "10", url(gateway)}, 60s);
    ASSERT_EQ(r.exit_code, 0) << r.output();
    const H2loadSummary s = parseH2load(r.out);
    EXPECT_EQ(s.s2xx, 300) << failing << "\n" << r.out;
    EXPECT_GT(
        metricSample(gateway.adminPort(), "switchyard_cluster_retries_total{cluster=\"web\"}"), 0)
        << failing;
  }
  EXPECT_GT(flaky.requestCount(), 0u);
}

TEST(Http2Test, SigtermAnswersStreamsInFlightWithGoawayAndExitsZero) {
  TestBackend backend("a");
  // Long enough that the drain reaches the worker while the streams are in flight, even on a
  // loaded machine (were they answered first, the drain would be a plain final GOAWAY).
  backend.setBehavior(BackendBehavior::delayed(3000ms));
  Gateway gateway;
  ASSERT_TRUE(gateway.start(kConfig, vars({backend.address()})));
  json result;
  std::thread client([&] {
    result = runClient({"requests", std::to_string(gateway.port()), "5", "/", "--wait-close"});
  });
  ASSERT_TRUE(eventually([&] { return backend.requestCount() >= 5; }, 10s));
  gateway.process().sendSignal(SIGTERM);
  client.join();
  EXPECT_EQ(result["responses"].size(), 5u) << result.dump();
  for (const auto& [id, status] : result["responses"].items()) EXPECT_EQ(status, 200) << id;
  EXPECT_EQ(result["ended"].size(), 5u) << result.dump();
  EXPECT_TRUE(result["resets"].empty()) << result.dump();
  // The shutdown notice (last stream 2^31-1), then the final GOAWAY naming stream 9; NO_ERROR.
  ASSERT_EQ(result["goaways"].size(), 2u) << result.dump();
  EXPECT_EQ(result["goaways"][0], json::array({2147483647, 0})) << result.dump();
  EXPECT_EQ(result["goaways"][1], json::array({9, 0})) << result.dump();
  EXPECT_TRUE(result["closed"]) << result.dump();
  EXPECT_EQ(gateway.process().waitExit(10s), 0);
}

TEST(Http2Test, OversizeHeadersGet431AndTheConnectionLives) {
  TestBackend backend("a");
  Gateway gateway;
  ASSERT_TRUE(gateway.start(kConfig, vars({backend.address()}, "",
                                          "    limits: { max_header_bytes: 8192 }")));
  std::vector<std::string> args = {"-i"};
  for (int i = 0; i < 16; ++i) {
    args.push_back("-H");
    args.push_back("x-big-" + std::to_string(i) + ": " + std::string(1000, 'v'));
  }
  args.push_back(url(gateway));
  CommandResult r = curlH2(args);
  ASSERT_EQ(r.exit_code, 0) << r.output();
  EXPECT_EQ(lastLine(r.out), "431 2");
  EXPECT_NE(r.out.find("x-switchyard-error: request-header-too-large"), std::string::npos);
  EXPECT_EQ(backend.requestCount(), 0u);
}

TEST(Http2Test, AClientIgnoringTheStreamLimitGetsTheExtraStreamRefused) {
  TestBackend backend("a");
  backend.setBehavior(BackendBehavior::delayed(300ms));
  Gateway gateway;
  ASSERT_TRUE(gateway.start(kConfig, vars({backend.address()})));
  json r = runClient({"requests", std::to_string(gateway.port()), "105", "/"});
  EXPECT_EQ(r["responses"].size(), 100u) << r.dump();
  for (const auto& [id, status] : r["responses"].items()) EXPECT_EQ(status, 200) << id;
  ASSERT_EQ(r["resets"].size(), 5u) << r.dump();
  for (const auto& [id, code] : r["resets"].items()) {
    EXPECT_EQ(code, 7) << id;  // REFUSED_STREAM
    EXPECT_FALSE(r["responses"].contains(id)) << id;
  }
}

TEST(Http2Test, MaxConcurrentStreamsOfTheListenerRefusesTheSixthOfSixAndAnswersFive) {
  TestBackend backend("a");
  backend.setBehavior(BackendBehavior::delayed(300ms));
  Gateway gateway;
  ASSERT_TRUE(gateway.start(
      kConfig, vars({backend.address()}, "", "    http2: { max_concurrent_streams: 5 }")));
  // Six HEADERS at once, before the client has even read the SETTINGS that announce 5.
  json r = runClient({"requests", std::to_string(gateway.port()), "6", "/"});
  EXPECT_EQ(r["responses"].size(), 5u) << r.dump();
  for (const auto& [id, status] : r["responses"].items()) EXPECT_EQ(status, 200) << id;
  ASSERT_EQ(r["resets"].size(), 1u) << r.dump();
  EXPECT_EQ(r["resets"]["11"], 7) << r.dump();  // the sixth stream: REFUSED_STREAM
  EXPECT_EQ(backend.requestCount(), 5u);
}

// The SETTINGS and the connection WINDOW_UPDATE a new connection gets, as nghttp -v shows them.
struct AnnouncedSettings {
  long max_streams = -1, stream_window = -1, connection_window_increment = -1;
};
AnnouncedSettings announced(const Gateway& gateway) {
  CommandResult r = runCommand({"nghttp", "-v", "-n", "-t", "20", url(gateway)}, 60s);
  EXPECT_EQ(r.exit_code, 0) << r.output();
  AnnouncedSettings s;
  // What the gateway sent (nghttp prints its own SETTINGS first, with the same names).
  const auto from = r.out.find("recv SETTINGS frame <length=18, flags=0x00");
  if (from == std::string::npos) {
    ADD_FAILURE() << "no SETTINGS from the gateway: " << r.out;
    return s;
  }
  const std::string received = r.out.substr(from);
  std::smatch m;
  if (std::regex_search(received, m,
                        std::regex(R"(SETTINGS_MAX_CONCURRENT_STREAMS\(0x03\):(\d+))")))
    s.max_streams = std::stol(m[1]);
  if (std::regex_search(received, m, std::regex(R"(SETTINGS_INITIAL_WINDOW_SIZE\(0x04\):(\d+))")))
    s.stream_window = std::stol(m[1]);
  if (std::regex_search(received, m,
                        std::regex(R"(recv WINDOW_UPDATE frame <length=4, flags=0x00, )"
                                   R"(stream_id=0>\s*\(window_size_increment=(\d+)\))")))
    s.connection_window_increment = std::stol(m[1]);
  return s;
}

TEST(Http2Test, ListenerSettingsAreAnnouncedAndAReloadChangesThemForNewConnections) {
  TestBackend backend("a");
  Gateway gateway;
  ASSERT_TRUE(gateway.start(kConfig, vars({backend.address()}, "",
                                          "    http2: { max_concurrent_streams: 7, "
                                          "initial_stream_window_bytes: 100000, "
                                          "connection_window_bytes: 500000 }")));
  AnnouncedSettings before = announced(gateway);
  EXPECT_EQ(before.max_streams, 7);
  EXPECT_EQ(before.stream_window, 100000);
  EXPECT_EQ(before.connection_window_increment, 500000 - 65535);  // above the initial 65535

  std::string next = gateway.config();
  next.replace(next.find("max_concurrent_streams: 7"), 25, "max_concurrent_streams: 3");
  next.replace(next.find("initial_stream_window_bytes: 100000"), 35,
               "initial_stream_window_bytes: 70000");
  std::ofstream(gateway.process().configPath(), std::ios::trunc) << next;
  gateway.process().sendSignal(SIGHUP);
  ASSERT_TRUE(eventually(
      [&] {
        const std::string log = gateway.process().stderrText() + gateway.process().stdoutText();
        return log.find("reload applied") != std::string::npos;
      },
      10s));
  AnnouncedSettings after = announced(gateway);
  EXPECT_EQ(after.max_streams, 3);
  EXPECT_EQ(after.stream_window, 70000);
  EXPECT_EQ(after.connection_window_increment, 500000 - 65535);
  // /config shows the running values.
  HttpResponse config = HttpClient::get(gateway.adminPort(), "/config", {}, 2s);
  EXPECT_NE(config.body.find("max_concurrent_streams: 3"), std::string::npos) << config.body;
}

class Http2FloodTest : public ::testing::TestWithParam<std::pair<const char*, const char*>> {};

TEST_P(Http2FloodTest, ClosesTheOffendingConnectionOnlyWithGoawayAndACounter) {
  const auto [client_kind, metric_kind] = GetParam();
  TestBackend backend("a");
  Gateway gateway;
  ASSERT_TRUE(gateway.start(kConfig, vars({backend.address()})));
  const std::string counter = std::string("switchyard_http2_flood_closed_total{listener=\"web\",kind=\"") +
                              metric_kind + "\"}";
  EXPECT_EQ(metricSample(gateway.adminPort(), counter), 0);
  json r = runClient({"flood", std::to_string(gateway.port()), client_kind, "2000"});
  EXPECT_EQ(r["goaway"], 11) << r.dump();  // ENHANCE_YOUR_CALM
  EXPECT_TRUE(r["closed"]) << r.dump();
  EXPECT_TRUE(eventually([&] { return metricSample(gateway.adminPort(), counter) == 1; }, 5s));
  // Other connections are unaffected.
  CommandResult ok = curlH2({url(gateway)});
  EXPECT_EQ(lastLine(ok.out), "200 2") << ok.output();
}

INSTANTIATE_TEST_SUITE_P(Kinds, Http2FloodTest,
                         ::testing::Values(std::make_pair("rst_stream", "rst_stream"),
                                           std::make_pair("settings", "settings"),
                                           std::make_pair("ping", "ping"),
                                           std::make_pair("empty_data", "empty_data"),
                                           std::make_pair("continuation", "headers")),
                         [](const auto& info) { return std::string(info.param.first); });

TEST(Http2Test, AMalformedFrameGetsNghttp2sGoawayAndIsCounted) {
  TestBackend backend("a");
  Gateway gateway;
  ASSERT_TRUE(gateway.start(kConfig, vars({backend.address()})));
  json r = runClient({"flood", std::to_string(gateway.port()), "malformed"});
  EXPECT_EQ(r["goaway"], 1) << r.dump();  // PROTOCOL_ERROR
  EXPECT_TRUE(r["closed"]) << r.dump();
  EXPECT_TRUE(eventually(
      [&] {
        return metricSample(gateway.adminPort(),
                            "switchyard_http2_protocol_errors_total{listener=\"web\"}") == 1;
      },
      5s));
  CommandResult ok = curlH2({url(gateway)});
  EXPECT_EQ(lastLine(ok.out), "200 2") << ok.output();
}

TEST(Http2Test, AnIdleConnectionGetsGoawayAndIsClosed) {
  TestBackend backend("a");
  Gateway gateway;
  ASSERT_TRUE(gateway.start(kConfig, vars({backend.address()}, "",
                                          "    limits: { idle_timeout_ms: 300 }")));
  // Two streams answered, then nothing: GOAWAY (NO_ERROR, naming the last stream) and close.
  const auto t0 = std::chrono::steady_clock::now();
  json r = runClient({"requests", std::to_string(gateway.port()), "2", "/", "--wait-close"});
  EXPECT_EQ(r["responses"].size(), 2u) << r.dump();
  ASSERT_EQ(r["goaways"].size(), 1u) << r.dump();
  EXPECT_EQ(r["goaways"][0], json::array({3, 0})) << r.dump();
  EXPECT_TRUE(r["closed"]) << r.dump();
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 300ms);
}

TEST(Http2Test, Http1ClientsAreUnchangedOnTheSameListener) {
  TestBackend backend("a");
  Gateway gateway;
  ASSERT_TRUE(gateway.start(kConfig, vars({backend.address()})));
  HttpResponse r = HttpClient::get(gateway.port(), "/", {}, 5s);
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_EQ(r.status, 200);
  // A request line that starts like the preface but is not it is HTTP/1.1's to answer.
  HttpClient client;
  ASSERT_TRUE(client.connect(gateway.port()));
  HttpResponse pri = client.roundTrip("PRI / HTTP/1.1\r\nHost: x\r\n\r\n", ReadOptions());
  EXPECT_TRUE(pri.ok()) << pri.describe();
}

}  // namespace
}  // namespace switchyard::support
