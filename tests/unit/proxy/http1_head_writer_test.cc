#include "proxy/http1_head_writer.h"

#include <gtest/gtest.h>

namespace switchyard::proxy {
namespace {

using boost::beast::error_code;

ParseEvents parseHead(RequestParser& parser, ParseEvents& ev, const std::string& text) {
  error_code ec;
  parser.feed(text, ec);
  EXPECT_FALSE(ec) << ec.message();
  return ev;
}

TEST(HeadWriter, UpstreamRequestDropsHopByHopAndAddsForwardingFields) {
  ParseEvents ev;
  RequestParser parser(ev);
  const std::string text =
      "GET /p HTTP/1.1\r\nHost: api.example.com\r\nConnection: keep-alive, X-Secret\r\n"
      "Keep-Alive: timeout=5\r\nX-Secret: s\r\nTE: trailers\r\nX-Forwarded-For: 10.0.0.1\r\n"
      "X-Forwarded-Proto: https\r\nAccept: */*\r\n\r\n";
  parseHead(parser, ev, text);
  std::string out;
  UpstreamRequestInfo info;
  info.client_ip = "127.0.0.9";
  writeUpstreamRequestHead(out, ev, info);
  EXPECT_EQ(out,
            "GET /p HTTP/1.1\r\nHost: api.example.com\r\nAccept: */*\r\n"
            "x-forwarded-for: 10.0.0.1, 127.0.0.9\r\nx-forwarded-proto: http\r\n\r\n");
}

TEST(HeadWriter, ChunkedRequestStaysChunkedAndUpgradeIsForwarded) {
  ParseEvents ev;
  RequestParser parser(ev);
  const std::string text =
      "GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
      "Transfer-Encoding: chunked\r\n\r\n";
  parseHead(parser, ev, text);
  std::string out;
  UpstreamRequestInfo info;
  info.client_ip = "1.2.3.4";
  info.upgrade = true;
  writeUpstreamRequestHead(out, ev, info);
  EXPECT_NE(out.find("transfer-encoding: chunked\r\n"), std::string::npos);
  EXPECT_NE(out.find("upgrade: websocket\r\nconnection: upgrade\r\n"), std::string::npos);
  EXPECT_EQ(out.find("Connection: Upgrade"), std::string::npos);
}

TEST(HeadWriter, ResponseFraming) {
  ParseEvents r;
  r.status = 200;
  r.content_length = 10;
  EXPECT_EQ(chooseResponseFraming(r, false, 11), ResponseFraming::kContentLength);
  EXPECT_EQ(chooseResponseFraming(r, true, 11), ResponseFraming::kNone);
  r.content_length.reset();
  EXPECT_EQ(chooseResponseFraming(r, false, 11), ResponseFraming::kChunked);
  EXPECT_EQ(chooseResponseFraming(r, false, 10), ResponseFraming::kClose);
  r.status = 204;
  EXPECT_EQ(chooseResponseFraming(r, false, 11), ResponseFraming::kNone);
  r.status = 304;
  EXPECT_EQ(chooseResponseFraming(r, false, 11), ResponseFraming::kNone);
}

TEST(HeadWriter, DownstreamResponseHeadRewritesFramingAndConnection) {
  ParseEvents ev;
  ResponseParser parser(ev);
  error_code ec;
  const std::string input =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\nX-App: 1\r\n\r\n";
  parser.feed(input, ec);
  std::string out;
  writeDownstreamResponseHead(out, ev, ev.reason, ResponseFraming::kChunked, true, 11);
  EXPECT_EQ(out, "HTTP/1.1 200 OK\r\nX-App: 1\r\ntransfer-encoding: chunked\r\n\r\n");
  out.clear();
  writeDownstreamResponseHead(out, ev, ev.reason, ResponseFraming::kClose, false, 10);
  EXPECT_EQ(out, "HTTP/1.0 200 OK\r\nX-App: 1\r\nconnection: close\r\n\r\n");
}

TEST(HeadWriter, ErrorResponseNamesTheCause) {
  std::string out;
  writeErrorResponse(out, 503, "no-healthy-instance", "no instance of cluster \"web\"", false);
  EXPECT_EQ(out.rfind("HTTP/1.1 503 Service Unavailable\r\n", 0), 0u);
  EXPECT_NE(out.find("x-switchyard-error: no-healthy-instance\r\n"), std::string::npos);
  EXPECT_NE(out.find("connection: close\r\n"), std::string::npos);
  EXPECT_NE(out.find("\r\n\r\nService Unavailable: no instance of cluster \"web\"\n"),
            std::string::npos);
  const auto body_at = out.find("\r\n\r\n") + 4;
  const auto cl_at = out.find("content-length: ") + 16;
  EXPECT_EQ(std::stoul(out.substr(cl_at)), out.size() - body_at);
}

TEST(HeadWriter, ChunkHeaderIsHex) {
  std::string out;
  appendChunkHeader(out, 255);
  EXPECT_EQ(out, "ff\r\n");
}

}  // namespace
}  // namespace switchyard::proxy
