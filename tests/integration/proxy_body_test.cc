// Bodies through the proxy: chunked and sized both ways, Expect: 100-continue, and 200 MB each
// way with the proxy's resident memory staying flat (it must stream, never buffer a body).

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "tests/support/checksum.h"
#include "tests/support/gateway.h"
#include "tests/support/http_client.h"
#include "tests/support/run_command.h"
#include "tests/support/temp_dir.h"
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
    discovery:
      static: ["${WEB}"]
    request_timeout_ms: 120000
admin:
  address: "127.0.0.1:${ADMIN}"
)";

constexpr uint64_t kBig = 200ull << 20;   // 200 MiB
constexpr long kMaxGrowthKb = 64 * 1024;  // what "flat memory" allows

class ProxyBodyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(gateway_.start(kConfig, {{"WEB", backend_.address()}}));
    ASSERT_TRUE(client_.connect(gateway_.port())) << client_.lastError();
  }
  nlohmann::json echoed(const HttpResponse& r) {
    EXPECT_TRUE(r.ok() && r.status == 200) << r.describe();
    try {
      return nlohmann::json::parse(r.body);
    } catch (const std::exception& e) {
      ADD_FAILURE() << "not JSON: " << r.describe();
      return {};
    }
  }
  TestBackend backend_{"b1"};
  Gateway gateway_;
  HttpClient client_;
};

TEST_F(ProxyBodyTest, ChunkedRequestBodyReachesTheBackendWhole) {
  backend_.setBehavior(BackendBehavior::echo());
  const uint64_t size = 3'000'017;
  ASSERT_TRUE(
      client_.send(HttpClient::buildRequest("POST", "/up", {{"Transfer-Encoding", "chunked"}})));
  ASSERT_TRUE(client_.sendPattern(size, 10'000)) << client_.lastError();
  nlohmann::json j = echoed(client_.readResponse());
  EXPECT_EQ(j["body_bytes"], size);
  EXPECT_EQ(j["body_checksum"], Checksum::ofPattern(size).hex());
}

TEST_F(ProxyBodyTest, ContentLengthRequestBodyReachesTheBackendWhole) {
  backend_.setBehavior(BackendBehavior::echo());
  const uint64_t size = 1'234'567;
  ASSERT_TRUE(client_.send(
      HttpClient::buildRequest("PUT", "/up", {{"Content-Length", std::to_string(size)}})));
  ASSERT_TRUE(client_.sendPattern(size)) << client_.lastError();
  nlohmann::json j = echoed(client_.readResponse());
  EXPECT_EQ(j["body_bytes"], size);
  EXPECT_EQ(j["body_checksum"], Checksum::ofPattern(size).hex());
  ASSERT_TRUE(backend_.waitForRequests(1, 2s));
  EXPECT_EQ(backend_.requests()[0].header("content-length"), std::to_string(size));
}

TEST_F(ProxyBodyTest, SmallBodiesKeepTheConnectionInStep) {
  backend_.setBehavior(BackendBehavior::echo());
  for (int i = 0; i < 5; ++i) {
    std::string body = "body-" + std::to_string(i);
    nlohmann::json j = echoed(client_.roundTrip(HttpClient::buildRequest("POST", "/", {}, body)));
    EXPECT_EQ(j["body"], body);
  }
  EXPECT_EQ(backend_.connectionCount(), 1u);
}

TEST_F(ProxyBodyTest, ChunkedResponseIsStreamedToTheClient) {
  const uint64_t size = 5'000'011;
  backend_.setBehavior(BackendBehavior::stream(size, /*chunked=*/true));
  HttpResponse r =
      client_.roundTrip(HttpClient::buildRequest("GET", "/"), ReadOptions().discardBody());
  ASSERT_TRUE(r.ok() && r.status == 200) << r.describe();
  EXPECT_EQ(r.body_bytes, size);
  EXPECT_EQ(r.body_checksum, Checksum::ofPattern(size).hex());
  // The connection is still usable: the proxy framed the end of the body correctly.
  backend_.setBehavior(BackendBehavior::fixed());
  HttpResponse next = client_.roundTrip(HttpClient::buildRequest("GET", "/"));
  ASSERT_TRUE(next.ok()) << next.describe();
  EXPECT_EQ(next.body, "hello from b1");
}

TEST_F(ProxyBodyTest, ContentLengthResponseIsForwardedWithItsLength) {
  const uint64_t size = 2'500'003;
  backend_.setBehavior(BackendBehavior::stream(size, /*chunked=*/false));
  HttpResponse r =
      client_.roundTrip(HttpClient::buildRequest("GET", "/"), ReadOptions().discardBody());
  ASSERT_TRUE(r.ok() && r.status == 200) << r.describe();
  EXPECT_EQ(r.header("content-length"), std::to_string(size));
  EXPECT_EQ(r.body_bytes, size);
  EXPECT_EQ(r.body_checksum, Checksum::ofPattern(size).hex());
}

TEST_F(ProxyBodyTest, ExpectContinueWithRawClient) {
  backend_.setBehavior(BackendBehavior::echo());
  ASSERT_TRUE(client_.send(HttpClient::buildRequest(
      "POST", "/", {{"Content-Length", "11"}, {"Expect", "100-continue"}})));
  // A client waiting for 100 before it sends the body must get it (from the proxy or the
  // backend), not be left waiting for a final response that needs the body.
  HttpResponse interim = client_.readResponse(ReadOptions::within(3s).keepInformational());
  ASSERT_TRUE(interim.ok()) << interim.describe();
  ASSERT_EQ(interim.status, 100);
  ASSERT_TRUE(client_.send("hello world"));
  nlohmann::json j = echoed(client_.readResponse());
  EXPECT_EQ(j["body"], "hello world");
}

TEST_F(ProxyBodyTest, ExpectContinueWithCurlAndATwoMegabyteFile) {
  backend_.setBehavior(BackendBehavior::echo());
  TempDir dir;
  const uint64_t size = 2ull << 20;
  std::string file = dir.writeFile("body.bin", Checksum::pattern(0, size));
  // curl sends Expect: 100-continue for bodies this large and waits up to 1 s for the 100;
  // --expect100-timeout 5 makes a proxy that never sends it fail the timing check below.
  auto t0 = std::chrono::steady_clock::now();
  CommandResult r =
      runCommand({"curl", "-sS", "-v", "--max-time", "30", "--expect100-timeout", "5",
                  "--data-binary", "@" + file, "-H", "Content-Type: application/octet-stream",
                  "http://127.0.0.1:" + std::to_string(gateway_.port()) + "/upload"});
  auto elapsed = std::chrono::steady_clock::now() - t0;
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("Expect: 100-continue"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("HTTP/1.1 100"), std::string::npos) << "no 100 Continue seen:\n" << r.err;
  EXPECT_LT(elapsed, 4s) << "curl waited for a 100 Continue that never came";
  nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["body_bytes"], size);
  EXPECT_EQ(j["body_checksum"], Checksum::ofPattern(size).hex());
}

TEST_F(ProxyBodyTest, TwoHundredMegabyteRequestBodyStreamsWithFlatMemory) {
  backend_.setBehavior(BackendBehavior::echo());
  // The backend waits before reading: a proxy that buffers instead of applying backpressure
  // would swallow the whole body meanwhile.
  BackendBehavior slow_reader = BackendBehavior::echo();
  slow_reader.body_read_delay = 1s;
  backend_.setBehavior(slow_reader);
  long rss_before = gateway_.process().vmRssKb();
  ASSERT_GT(rss_before, 0);
  ASSERT_TRUE(client_.send(
      HttpClient::buildRequest("POST", "/big", {{"Content-Length", std::to_string(kBig)}})));
  ASSERT_TRUE(client_.sendPattern(kBig, 0, 120s)) << client_.lastError();
  HttpResponse r = client_.readResponse(ReadOptions::within(120s));
  long hwm_after = gateway_.process().vmHwmKb();
  nlohmann::json j = echoed(r);
  EXPECT_EQ(j["body_bytes"], kBig);
  EXPECT_EQ(j["body_checksum"], Checksum::ofPattern(kBig).hex());
  RecordProperty("proxy_peak_rss_growth_kb", std::to_string(hwm_after - rss_before));
  EXPECT_LT(hwm_after - rss_before, kMaxGrowthKb)
      << "proxy peak RSS grew from " << rss_before << " KiB to " << hwm_after << " KiB";
}

TEST_F(ProxyBodyTest, TwoHundredMegabyteResponseStreamsWithFlatMemory) {
  backend_.setBehavior(BackendBehavior::stream(kBig, /*chunked=*/false));
  long rss_before = gateway_.process().vmRssKb();
  ASSERT_GT(rss_before, 0);
  ReadOptions o;
  o.keep_body = false;
  o.timeout = 120s;
  // The client stops reading for a second after the head: a proxy without backpressure would
  // read the backend's whole body into memory meanwhile.
  o.after_head = [](const HttpResponse&) { std::this_thread::sleep_for(1s); };
  HttpResponse r = client_.roundTrip(HttpClient::buildRequest("GET", "/big"), o);
  long hwm_after = gateway_.process().vmHwmKb();
  ASSERT_TRUE(r.ok() && r.status == 200) << r.describe();
  EXPECT_EQ(r.body_bytes, kBig);
  EXPECT_EQ(r.body_checksum, Checksum::ofPattern(kBig).hex());
  RecordProperty("proxy_peak_rss_growth_kb", std::to_string(hwm_after - rss_before));
  EXPECT_LT(hwm_after - rss_before, kMaxGrowthKb)
      << "proxy peak RSS grew from " << rss_before << " KiB to " << hwm_after << " KiB";
}

}  // namespace
}  // namespace switchyard::support
