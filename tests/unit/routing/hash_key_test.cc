#include "routing/hash_key.h"

#include <gtest/gtest.h>

#include <map>

#include "routing/hash64.h"

namespace switchyard::routing {
namespace {

using Fields = std::map<std::string, std::string>;

class MapHeaders final : public RequestHeaders {
 public:
  explicit MapHeaders(std::map<std::string, std::string> h) : h_(std::move(h)) {}
  std::optional<std::string_view> get(std::string_view name) const override {
    auto it = h_.find(std::string(name));
    if (it == h_.end()) return std::nullopt;
    return std::string_view(it->second);
  }

 private:
  std::map<std::string, std::string> h_;
};

TEST(HashKeyParse, GoodSpecs) {
  auto header = HashKey::parse("header:X-User-Id");
  ASSERT_TRUE(header) << header.error().message;
  EXPECT_EQ(header->source(), HashKey::Source::kHeader);
  EXPECT_EQ(header->name(), "x-user-id");  // header names are case-insensitive
  auto cookie = HashKey::parse("cookie:SessionId");
  ASSERT_TRUE(cookie) << cookie.error().message;
  EXPECT_EQ(cookie->source(), HashKey::Source::kCookie);
  EXPECT_EQ(cookie->name(), "SessionId");  // cookie names are not
  auto ip = HashKey::parse("source_ip");
  ASSERT_TRUE(ip);
  EXPECT_EQ(ip->source(), HashKey::Source::kSourceIp);
  auto none = HashKey::parse("");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->source(), HashKey::Source::kNone);
}

TEST(HashKeyParse, BadSpecs) {
  for (const char* bad : {"header:", "cookie:", "header:bad name", "header:a:b", "user-id",
                          "source-ip", "Source_ip", "query:id", "header", ":x"}) {
    auto r = HashKey::parse(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_NE(r.error().message.find(std::string("\"") + bad + "\""), std::string::npos)
        << r.error().message;
  }
  EXPECT_EQ(HashKey::parse("user-id").error().message,
            "bad hash_on \"user-id\" (expected header:NAME, cookie:NAME or source_ip)");
}

TEST(HashKeyCompute, HeaderKey) {
  auto key = *HashKey::parse("header:x-user-id");
  EXPECT_EQ(key.compute(MapHeaders(Fields{{"x-user-id", "42"}}), "10.0.0.1"), hashBytes("42"));
  EXPECT_NE(key.compute(MapHeaders(Fields{{"x-user-id", "42"}}), ""),
            key.compute(MapHeaders(Fields{{"x-user-id", "43"}}), ""));
  EXPECT_EQ(key.compute(MapHeaders(Fields{{"x-other", "42"}}), "10.0.0.1"), std::nullopt);
  EXPECT_EQ(key.compute(MapHeaders(Fields{{"x-user-id", ""}}), "10.0.0.1"), std::nullopt);
}

TEST(HashKeyCompute, CookieKey) {
  auto key = *HashKey::parse("cookie:sid");
  EXPECT_EQ(key.compute(MapHeaders(Fields{{"cookie", "a=1; sid=abc; b=2"}}), ""), hashBytes("abc"));
  EXPECT_EQ(key.compute(MapHeaders(Fields{{"cookie", "sid=abc"}}), ""), hashBytes("abc"));
  EXPECT_EQ(key.compute(MapHeaders(Fields{{"cookie", "sidx=abc; xsid=1"}}), ""), std::nullopt);
  EXPECT_EQ(key.compute(MapHeaders(Fields{{"cookie", "SID=abc"}}), ""), std::nullopt);
  EXPECT_EQ(key.compute(MapHeaders(Fields{{"x-sid", "abc"}}), ""), std::nullopt);
  EXPECT_EQ(HashKey::findCookie(" a = 1 ;sid= v ; ", "sid"), "v");
  EXPECT_EQ(HashKey::findCookie("novalue; sid", "sid"), std::nullopt);
  EXPECT_EQ(HashKey::findCookie("", "sid"), std::nullopt);
}

TEST(HashKeyCompute, SourceIpAndNone) {
  auto ip = *HashKey::parse("source_ip");
  EXPECT_EQ(ip.compute(MapHeaders(Fields{}), "10.0.0.7"), hashBytes("10.0.0.7"));
  EXPECT_EQ(HashKey().compute(MapHeaders(Fields{{"x-user-id", "1"}}), "10.0.0.7"), std::nullopt);
}

}  // namespace
}  // namespace switchyard::routing
