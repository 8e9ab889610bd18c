// The test tools themselves, without the proxy: the backend behaves as documented and the raw
// client frames what it reads correctly. When a proxy test fails, these passing says the fault
// is not in the tools.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "tests/support/checksum.h"
#include "tests/support/http_client.h"
#include "tests/support/run_command.h"
#include "tests/support/switchyard_process.h"
#include "tests/support/test_backend.h"

namespace switchyard::support {
namespace {

using namespace std::chrono_literals;

TEST(SupportTest, FixedResponseNamesTheBackendAndKeepsTheConnection) {
  TestBackend backend("b1");
  HttpClient c;
  ASSERT_TRUE(c.connect(backend.port())) << c.lastError();
  for (int i = 0; i < 3; ++i) {
    HttpResponse r = c.roundTrip(HttpClient::buildRequest("GET", "/x"));
    ASSERT_TRUE(r.ok()) << r.describe();
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.header("x-backend"), "b1");
    EXPECT_EQ(r.body, "hello from b1");
    EXPECT_TRUE(r.keep_alive);
  }
  EXPECT_EQ(backend.requestCount(), 3u);
  EXPECT_EQ(backend.connectionCount(), 1u);
}

TEST(SupportTest, EchoReportsMethodTargetHeadersAndBody) {
  TestBackend backend("b1");
  backend.setBehavior(BackendBehavior::echo());
  HttpClient c;
  ASSERT_TRUE(c.connect(backend.port()));
  HttpResponse r = c.roundTrip(
      HttpClient::buildRequest("POST", "/a?b=1", {{"Host", "h.example"}, {"X-Test", "v"}}, "xyz"));
  ASSERT_TRUE(r.ok()) << r.describe();
  auto j = nlohmann::json::parse(r.body);
  EXPECT_EQ(j["method"], "POST");
  EXPECT_EQ(j["target"], "/a?b=1");
  EXPECT_EQ(j["body"], "xyz");
  EXPECT_EQ(j["body_bytes"], 3);
  EXPECT_EQ(j["headers"][0][0], "Host");
  EXPECT_EQ(j["headers"][0][1], "h.example");
  ASSERT_TRUE(backend.waitForRequests(1, 2s));
  EXPECT_EQ(backend.requests()[0].header("x-test"), "v");
}

TEST(SupportTest, StreamsChunkedAndSizedResponses) {
  TestBackend backend("b1");
  for (bool chunked : {true, false}) {
    backend.setBehavior(BackendBehavior::stream(3'000'001, chunked));
    HttpClient c;
    ASSERT_TRUE(c.connect(backend.port()));
    ReadOptions o;
    o.keep_body = false;
    HttpResponse r = c.roundTrip(HttpClient::buildRequest("GET", "/"), o);
    ASSERT_TRUE(r.ok()) << r.describe();
    EXPECT_EQ(r.chunked, chunked);
    EXPECT_EQ(r.body_bytes, 3'000'001u);
    EXPECT_EQ(r.body_checksum, Checksum::ofPattern(3'000'001).hex());
  }
}

TEST(SupportTest, ConsumesChunkedAndSizedRequestBodiesWithChecksum) {
  TestBackend backend("b1");
  backend.setBehavior(BackendBehavior::echo());
  const uint64_t size = 5'000'003;
  for (size_t chunk : {size_t{0}, size_t{70000}}) {
    HttpClient c;
    ASSERT_TRUE(c.connect(backend.port()));
    HeaderList h = {chunk ? HeaderList::value_type{"Transfer-Encoding", "chunked"}
                          : HeaderList::value_type{"Content-Length", std::to_string(size)}};
    ASSERT_TRUE(c.send(HttpClient::buildRequest("PUT", "/up", h)));
    ASSERT_TRUE(c.sendPattern(size, chunk));
    HttpResponse r = c.readResponse();
    ASSERT_TRUE(r.ok()) << r.describe();
    auto j = nlohmann::json::parse(r.body);
    EXPECT_EQ(j["body_bytes"], size);
    EXPECT_EQ(j["body_checksum"], Checksum::ofPattern(size).hex());
  }
}

TEST(SupportTest, AnswersExpectContinueBeforeReadingTheBody) {
  TestBackend backend("b1");
  HttpClient c;
  ASSERT_TRUE(c.connect(backend.port()));
  ASSERT_TRUE(c.send(HttpClient::buildRequest(
      "POST", "/", {{"Content-Length", "5"}, {"Expect", "100-continue"}})));
  ReadOptions o;
  o.skip_informational = false;
  HttpResponse interim = c.readResponse(o);
  ASSERT_TRUE(interim.ok()) << interim.describe();
  EXPECT_EQ(interim.status, 100);
  ASSERT_TRUE(c.send("hello"));
  HttpResponse r = c.readResponse();
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_EQ(r.status, 200);
}

TEST(SupportTest, HeadAndNoContentResponsesHaveNoBody) {
  TestBackend backend("b1");
  HttpClient c;
  ASSERT_TRUE(c.connect(backend.port()));
  HttpResponse head = c.roundTrip(HttpClient::buildRequest("HEAD", "/"));
  ASSERT_TRUE(head.ok()) << head.describe();
  EXPECT_EQ(head.header("content-length"), "13");
  EXPECT_EQ(head.body_bytes, 0u);
  for (int status : {204, 304}) {
    backend.setBehavior(BackendBehavior::fixed(status));
    HttpResponse r = c.roundTrip(HttpClient::buildRequest("GET", "/"));
    ASSERT_TRUE(r.ok()) << r.describe();
    EXPECT_EQ(r.status, status);
    EXPECT_EQ(r.body_bytes, 0u);
  }
  // The connection is still in step after bodiless responses.
  backend.setBehavior(BackendBehavior::fixed());
  HttpResponse r = c.roundTrip(HttpClient::buildRequest("GET", "/"));
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_EQ(r.body, "hello from b1");
}

TEST(SupportTest, PipelinedRequestsAreAnsweredInOrder) {
  TestBackend backend("b1");
  backend.setBehavior(BackendBehavior::echo());
  HttpClient c;
  ASSERT_TRUE(c.connect(backend.port()));
  ASSERT_TRUE(c.send(HttpClient::buildRequest("GET", "/1") + HttpClient::buildRequest("GET", "/2") +
                     HttpClient::buildRequest("GET", "/3")));
  for (const char* t : {"/1", "/2", "/3"}) {
    HttpResponse r = c.readResponse();
    ASSERT_TRUE(r.ok()) << r.describe();
    EXPECT_EQ(nlohmann::json::parse(r.body)["target"], t);
  }
}

TEST(SupportTest, ResetAndCloseMidResponseAreSeenAsClosed) {
  TestBackend backend("b1");
  backend.setBehavior(BackendBehavior::reset());
  HttpClient c;
  ASSERT_TRUE(c.connect(backend.port()));
  HttpResponse r = c.roundTrip(HttpClient::buildRequest("GET", "/"));
  EXPECT_EQ(r.read_status, ReadStatus::kClosed) << r.describe();

  backend.setBehavior(BackendBehavior::closeMidResponse(100000));
  ASSERT_TRUE(c.connect(backend.port()));
  r = c.roundTrip(HttpClient::buildRequest("GET", "/"));
  EXPECT_EQ(r.read_status, ReadStatus::kClosed) << r.describe();
}

// A server that accepts and closes without a byte: Beast's parser asserts in put_eof() on a
// parser that was given nothing, so the client must report it rather than abort the process.
TEST(SupportTest, CloseBeforeAnyResponseByteIsAFailedResponse) {
  int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(listener, 1), 0);
  ASSERT_EQ(::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len), 0);

  HttpClient c;
  ASSERT_TRUE(c.connect(ntohs(addr.sin_port)));  // the kernel completes the handshake
  int accepted = ::accept(listener, nullptr, nullptr);
  ::close(listener);
  ASSERT_GE(accepted, 0);
  ::close(accepted);
  HttpResponse r = c.readResponse(ReadOptions::within(3s));
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.read_status, ReadStatus::kClosed) << r.describe();
  EXPECT_NE(r.describe().find("connection closed before any response byte"), std::string::npos)
      << r.describe();
}

TEST(SupportTest, DelayedResponseAndClientTimeout) {
  TestBackend backend("b1");
  backend.setBehavior(BackendBehavior::delayed(400ms));
  HttpClient c;
  ASSERT_TRUE(c.connect(backend.port()));
  ReadOptions o;
  o.timeout = 100ms;
  HttpResponse r = c.roundTrip(HttpClient::buildRequest("GET", "/"), o);
  EXPECT_EQ(r.read_status, ReadStatus::kTimeout);
  o.timeout = 5s;
  auto t0 = std::chrono::steady_clock::now();
  r = c.readResponse(o);
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 200ms);
}

TEST(SupportTest, WebSocketUpgradeEchoesRawBytes) {
  TestBackend backend("b1");
  HttpClient c;
  ASSERT_TRUE(c.connect(backend.port()));
  HttpResponse r =
      c.roundTrip(HttpClient::buildRequest("GET", "/ws",
                                           {{"Connection", "Upgrade"},
                                            {"Upgrade", "websocket"},
                                            {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="},
                                            {"Sec-WebSocket-Version", "13"}}));
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_EQ(r.status, 101);
  EXPECT_EQ(r.header("sec-websocket-accept"), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  ASSERT_TRUE(c.send("ping-1"));
  EXPECT_EQ(c.readRaw(6), "ping-1");
}

TEST(SupportTest, StopClosesConnections) {
  TestBackend backend("b1");
  HttpClient c;
  ASSERT_TRUE(c.connect(backend.port()));
  ASSERT_TRUE(c.roundTrip(HttpClient::buildRequest("GET", "/")).ok());
  backend.stop();
  EXPECT_TRUE(c.waitForClose(2s));
  HttpClient again;
  EXPECT_FALSE(again.connect(backend.port()));
}

TEST(SupportTest, RunCommandCapturesOutputExitCodeAndTimeout) {
  CommandResult ok = runCommand({"sh", "-c", "echo out; echo err >&2; exit 3"});
  EXPECT_EQ(ok.exit_code, 3);
  EXPECT_EQ(ok.out, "out\n");
  EXPECT_EQ(ok.err, "err\n");
  CommandResult slow = runCommand({"sleep", "10"}, 200ms);
  EXPECT_TRUE(slow.timed_out);
  EXPECT_EQ(slow.exit_code, 128 + 9);
}

TEST(SupportTest, CurlReachesTheBackend) {
  TestBackend backend("b1");
  CommandResult r = runCommand({"curl", "-sS", "http://" + backend.address() + "/"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "hello from b1");
}

TEST(SupportTest, FillTemplateReplacesEveryPlaceholderAndRejectsUnknownOnes) {
  EXPECT_EQ(fillTemplate("a: ${X}, b: { c: ${Y} }", {{"X", "1"}, {"Y", "2"}}), "a: 1, b: { c: 2 }");
  EXPECT_THROW(fillTemplate("${NOPE}", {}), std::runtime_error);
}

}  // namespace
}  // namespace switchyard::support
