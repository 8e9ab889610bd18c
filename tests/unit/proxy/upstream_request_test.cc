// The HTTP/2 -> HTTP/1.1 request head of an UpstreamRequest (the exchange itself runs against
// real sockets in tests/integration/http2_test.cc).

#include "proxy/upstream_request.h"

#include <gtest/gtest.h>

#include "proxy/http1_upstream_try.h"
#include "proxy/retry_rules.h"

namespace switchyard::proxy {
namespace {

RequestHead get(std::string path = "/a?b=1") {
  RequestHead h;
  h.method = "GET";
  h.scheme = "http";
  h.authority = "api.example.com:8080";
  h.path = std::move(path);
  h.client_ip = "10.0.0.9";
  return h;
}

TEST(UpstreamRequestHeadTest, AuthorityBecomesHostAndForwardingFieldsAreSet) {
  std::string out;
  EXPECT_FALSE(writeHttp1RequestHead(out, get()));
  EXPECT_EQ(out,
            "GET /a?b=1 HTTP/1.1\r\n"
            "host: api.example.com:8080\r\n"
            "x-forwarded-for: 10.0.0.9\r\n"
            "x-forwarded-proto: http\r\n\r\n");
}

TEST(UpstreamRequestHeadTest, AClientHostFieldIsKeptAndNotDoubled) {
  RequestHead h = get("/");
  h.fields = {{"host", "other.example.com"}, {"accept", "*/*"}};
  std::string out;
  writeHttp1RequestHead(out, h);
  EXPECT_NE(out.find("host: other.example.com\r\n"), std::string::npos) << out;
  EXPECT_EQ(out.find("api.example.com"), std::string::npos) << out;
  EXPECT_NE(out.find("accept: */*\r\n"), std::string::npos) << out;
}

TEST(UpstreamRequestHeadTest, HopByHopFieldsAreDroppedAndCookiesJoined) {
  RequestHead h = get("/");
  h.fields = {{"te", "trailers"},          {"cookie", "a=1"}, {"x-user", "7"},
              {"cookie", "b=2"},           {"connection", "x-drop"}, {"x-drop", "1"},
              {"x-forwarded-for", "1.2.3.4"}};
  std::string out;
  writeHttp1RequestHead(out, h);
  EXPECT_EQ(out.find("te:"), std::string::npos) << out;
  EXPECT_EQ(out.find("connection"), std::string::npos) << out;
  EXPECT_EQ(out.find("x-drop"), std::string::npos) << out;
  EXPECT_NE(out.find("cookie: a=1; b=2\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("x-user: 7\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("x-forwarded-for: 1.2.3.4, 10.0.0.9\r\n"), std::string::npos) << out;
}

TEST(UpstreamRequestHeadTest, ABodyOfUnknownLengthIsChunkedAndAKnownOneKeepsItsLength) {
  RequestHead h = get("/up");
  h.method = "POST";
  h.has_body = true;
  std::string out;
  EXPECT_TRUE(writeHttp1RequestHead(out, h));
  EXPECT_NE(out.find("transfer-encoding: chunked\r\n"), std::string::npos) << out;

  h.fields = {{"content-length", "5"}};
  h.content_length = 5;
  out.clear();
  EXPECT_FALSE(writeHttp1RequestHead(out, h));
  EXPECT_EQ(out.find("transfer-encoding"), std::string::npos) << out;
  EXPECT_NE(out.find("content-length: 5\r\n"), std::string::npos) << out;
}

TEST(UpstreamRequestHeadTest, HttpsSchemeIsForwarded) {
  RequestHead h = get("/");
  h.scheme = "https";
  std::string out;
  writeHttp1RequestHead(out, h);
  EXPECT_NE(out.find("x-forwarded-proto: https\r\n"), std::string::npos) << out;
}

TEST(UpstreamRequestHeadTest, AnUpgradeIsForwardedWithConnectionUpgrade) {
  RequestHead h = get("/ws");
  h.fields = {{"sec-websocket-key", "k"}};
  h.upgrade = "websocket";
  std::string out;
  writeHttp1RequestHead(out, h);
  EXPECT_NE(out.find("upgrade: websocket\r\nconnection: upgrade\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("sec-websocket-key: k\r\n"), std::string::npos) << out;

  h.upgrade.clear();  // no upgrade asked: neither field goes out
  out.clear();
  writeHttp1RequestHead(out, h);
  EXPECT_EQ(out.find("upgrade"), std::string::npos) << out;
  EXPECT_EQ(out.find("connection"), std::string::npos) << out;
}

TEST(UpstreamRequestHeadTest, AReusedScratchCarriesNothingOverFromTheLastHead) {
  // The HTTP/1.1 try builds its head in the field list it then parses the response into.
  ParseEvents scratch;
  RequestHead first = get("/first");
  first.fields = {{"x-first", "1"}, {"cookie", "a=1"}};
  first.has_body = true;
  std::string out;
  EXPECT_TRUE(writeHttp1RequestHead(out, first, scratch));
  RequestHead second = get("/second");
  second.fields = {{"x-second", "2"}};
  std::string reused, fresh;
  EXPECT_FALSE(writeHttp1RequestHead(reused, second, scratch));
  writeHttp1RequestHead(fresh, second);
  EXPECT_EQ(reused, fresh);
  EXPECT_EQ(reused.find("x-first"), std::string::npos) << reused;
  EXPECT_EQ(reused.find("cookie"), std::string::npos) << reused;
}

TEST(RetryRulesTest, IdempotentMethods) {
  for (const char* m : {"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"})
    EXPECT_TRUE(isIdempotentMethod(m)) << m;
  for (const char* m : {"POST", "PATCH", "CONNECT", "get"}) EXPECT_FALSE(isIdempotentMethod(m)) << m;
}

}  // namespace
}  // namespace switchyard::proxy
