#include "proxy/http1_parser.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace switchyard::proxy {
namespace {

using boost::beast::error_code;

struct Parsed {
  std::string input;  // the views in ev point into it
  ParseEvents ev;
  std::string body;
  error_code ec;
  std::size_t used = 0;
};

// Feeds `input` to a fresh request parser the way the session does: the head first, then the
// body eagerly, accumulating body pieces.
std::unique_ptr<Parsed> parseRequestPtr(const std::string& input, uint64_t body_limit) {
  auto owned = std::make_unique<Parsed>();
  Parsed& p = *owned;
  p.input = input;
  RequestParser parser(p.ev);
  parser.body_limit(body_limit);
  std::string_view rest = p.input;
  p.used = parser.feed(rest, p.ec);
  if (p.ec) return owned;
  rest.remove_prefix(p.used);
  parser.eager(true);
  while (!parser.is_done() && !rest.empty()) {
    std::size_t n = parser.feed(rest, p.ec);
    for (auto piece : p.ev.body) p.body.append(piece);
    if (p.ec && p.ec != boost::beast::http::error::need_more) return owned;
    p.ec = {};
    if (n == 0) break;
    rest.remove_prefix(n);
    p.used += n;
  }
  return owned;
}

// The result owns its input, so the head's views stay valid for the assertions.
Parsed& parseRequest(const std::string& input, uint64_t body_limit = 1 << 20) {
  static std::vector<std::unique_ptr<Parsed>> keep;
  keep.push_back(parseRequestPtr(input, body_limit));
  return *keep.back();
}

TEST(Http1Parser, ParsesRequestHeadIntoViews) {
  auto& p = parseRequest("GET /a?b=1 HTTP/1.1\r\nHost: example.com\r\nX-Thing: v\r\n\r\n");
  ASSERT_FALSE(p.ec) << p.ec.message();
  EXPECT_TRUE(p.ev.header_done);
  EXPECT_TRUE(p.ev.finished);
  EXPECT_EQ(p.ev.method, http::verb::get);
  EXPECT_EQ(p.ev.target, "/a?b=1");
  EXPECT_EQ(p.ev.version, 11);
  ASSERT_EQ(p.ev.fields.size(), 2u);
  EXPECT_EQ(p.ev.fields[0].id, http::field::host);
  EXPECT_EQ(p.ev.fields[1].name, "X-Thing");
  EXPECT_EQ(p.ev.fields[1].value, "v");
}

TEST(Http1Parser, ChunkedBodyArrivesAsPiecesAndTrailers) {
  auto& p = parseRequest(
      "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nx-checksum: 42\r\n\r\n");
  ASSERT_FALSE(p.ec) << p.ec.message();
  EXPECT_TRUE(p.ev.chunked);
  EXPECT_TRUE(p.ev.finished);
  EXPECT_EQ(p.body, "hello world");
  ASSERT_EQ(p.ev.trailers.size(), 1u);
  EXPECT_EQ(p.ev.trailers[0].name, "x-checksum");
  EXPECT_EQ(p.ev.trailers[0].value, "42");
}

TEST(Http1Parser, ContentLengthBody) {
  auto& p = parseRequest("PUT /x HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc");
  ASSERT_FALSE(p.ec);
  EXPECT_EQ(p.ev.content_length, 3u);
  EXPECT_EQ(p.body, "abc");
  EXPECT_TRUE(p.ev.finished);
}

TEST(Http1Parser, StopsAtTheEndOfAMessageSoPipelinedRequestsWait) {
  const std::string two = "GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\n";
  auto& p = parseRequest(two);
  ASSERT_FALSE(p.ec);
  EXPECT_EQ(p.used, two.size() / 2);
}

TEST(Http1Parser, RejectsConflictingContentLengthAndTransferEncoding) {
  auto& p = parseRequest(
      "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n");
  EXPECT_TRUE(p.ec);
}

TEST(Http1Parser, RejectsTwoDifferentContentLengths) {
  auto& p = parseRequest("POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n");
  EXPECT_EQ(p.ec, http::error::bad_content_length);
}

TEST(Http1Parser, FlagsTransferEncodingWithoutFinalChunked) {
  auto& p = parseRequest("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n");
  ASSERT_FALSE(p.ec);
  ASSERT_NE(p.ev.reject_reason, nullptr);
}

// RFC 9112 6.3: a request whose final transfer coding is not chunked has no knowable length.
TEST(Http1Parser, FlagsTransferEncodingWhoseLastTokenIsNotExactlyChunked) {
  for (const char* te : {"xchunked", "chunked, gzip", "chunked;q=1", "chunkedx", "gzip , x"}) {
    auto& p = parseRequest(std::string("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: ") + te +
                           "\r\n\r\n");
    EXPECT_NE(p.ev.reject_reason, nullptr) << te;
  }
  for (const char* te : {"chunked", "gzip, chunked", "gzip,chunked", "CHUNKED"}) {
    auto& p = parseRequest(std::string("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: ") + te +
                           "\r\n\r\n0\r\n\r\n");
    EXPECT_EQ(p.ev.reject_reason, nullptr)
        << te << ": " << (p.ev.reject_reason ? p.ev.reject_reason : "");
  }
}

// RFC 9112 3.2: 400 for an HTTP/1.1 request without Host, and for any with two.
TEST(Http1Parser, FlagsAMissingOrRepeatedHost) {
  EXPECT_STREQ(parseRequest("GET / HTTP/1.1\r\nX: y\r\n\r\n").ev.reject_reason, "no Host field");
  EXPECT_STREQ(parseRequest("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n").ev.reject_reason,
               "more than one Host field");
  EXPECT_STREQ(parseRequest("GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n").ev.reject_reason,
               "more than one Host field");
  // HTTP/1.0 may omit it (the listener's address stands for it).
  EXPECT_EQ(parseRequest("GET / HTTP/1.0\r\n\r\n").ev.reject_reason, nullptr);
  EXPECT_EQ(parseRequest("GET / HTTP/1.1\r\nhost: a\r\n\r\n").ev.reject_reason, nullptr);
}

TEST(Http1Parser, RejectsObsFoldInARequest) {
  auto& p = parseRequest("GET / HTTP/1.1\r\nHost: h\r\nX-Long: a\r\n  b\r\n\r\n");
  EXPECT_EQ(p.ec, http::error::bad_obs_fold);
}

TEST(Http1Parser, RejectsInvalidBytesInAFieldName) {
  auto& p = parseRequest("GET / HTTP/1.1\r\nHo(st: h\r\n\r\n");
  EXPECT_TRUE(p.ec);
}

TEST(Http1Parser, HeaderLimit) {
  ParseEvents ev;
  RequestParser parser(ev);
  parser.header_limit(64);
  error_code ec;
  parser.feed("GET / HTTP/1.1\r\nX: " + std::string(100, 'a') + "\r\n\r\n", ec);
  EXPECT_EQ(ec, http::error::header_limit);
}

TEST(Http1Parser, BodyLimitOnDeclaredLength) {
  auto& p = parseRequest("POST / HTTP/1.1\r\nContent-Length: 100\r\n\r\n", 10);
  EXPECT_EQ(p.ec, http::error::body_limit);
}

TEST(Http1Parser, ResponseWithReasonAndCloseDelimitedBody) {
  ParseEvents ev;
  ResponseParser parser(ev);
  parser.eager(true);
  error_code ec;
  std::string input = "HTTP/1.1 200 Fine\r\nServer: x\r\n\r\npartial";
  auto used = parser.feed(input, ec);
  EXPECT_FALSE(ec && ec != http::error::need_more);
  EXPECT_EQ(used, input.size());
  EXPECT_EQ(ev.status, 200u);
  EXPECT_EQ(ev.reason, "Fine");
  ASSERT_EQ(ev.body.size(), 1u);
  EXPECT_EQ(ev.body[0], "partial");
  EXPECT_FALSE(parser.is_done());
  parser.put_eof(ec);
  EXPECT_FALSE(ec);
  EXPECT_TRUE(ev.finished);
}

TEST(Http1Parser, InterimResponseIsACompleteMessage) {
  ParseEvents ev;
  ResponseParser parser(ev);
  error_code ec;
  std::string input = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n";
  auto used = parser.feed(input, ec);
  EXPECT_EQ(ev.status, 100u);
  EXPECT_TRUE(parser.is_done());
  EXPECT_EQ(used, std::string("HTTP/1.1 100 Continue\r\n\r\n").size());
}

}  // namespace
}  // namespace switchyard::proxy
