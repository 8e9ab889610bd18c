#include "common/host_port.h"

#include <gtest/gtest.h>

namespace switchyard {
namespace {

HostPort parsed(std::string_view text, bool allow_zero_port = false) {
  auto r = parseHostPort(text, allow_zero_port);
  EXPECT_TRUE(r.ok()) << text << ": " << (r.ok() ? "" : r.error().message);
  return r.ok() ? r.value() : HostPort{};
}

std::string failure(std::string_view text, bool allow_zero_port = false) {
  auto r = parseHostPort(text, allow_zero_port);
  EXPECT_FALSE(r.ok()) << text << " parsed as " << (r.ok() ? r->str() : "");
  return r.ok() ? "" : r.error().message;
}

TEST(HostPortTest, ParsesIpv4) {
  EXPECT_EQ(parsed("127.0.0.1:8080"), (HostPort{"127.0.0.1", 8080}));
  EXPECT_EQ(parsed("0.0.0.0:1"), (HostPort{"0.0.0.0", 1}));
  EXPECT_EQ(parsed("10.1.2.3:65535"), (HostPort{"10.1.2.3", 65535}));
}

TEST(HostPortTest, ParsesIpv6InBrackets) {
  EXPECT_EQ(parsed("[::1]:9901"), (HostPort{"::1", 9901}));
  EXPECT_EQ(parsed("[2001:db8::42]:443"), (HostPort{"2001:db8::42", 443}));
}

TEST(HostPortTest, ParsesNames) {
  EXPECT_EQ(parsed("localhost:2181"), (HostPort{"localhost", 2181}));
  EXPECT_EQ(parsed("api.example.com:80"), (HostPort{"api.example.com", 80}));
}

TEST(HostPortTest, StrWritesBracketsForIpv6Only) {
  EXPECT_EQ((HostPort{"::1", 80}).str(), "[::1]:80");
  EXPECT_EQ((HostPort{"web-1", 80}).str(), "web-1:80");
  EXPECT_EQ(parsed(HostPort{"2001:db8::1", 8443}.str()), (HostPort{"2001:db8::1", 8443}));
}

TEST(HostPortTest, RejectsBadPorts) {
  EXPECT_NE(failure("host:65536").find("bad port"), std::string::npos);
  EXPECT_NE(failure("host:-1").find("bad port"), std::string::npos);
  EXPECT_NE(failure("host:80a").find("bad port"), std::string::npos);
  EXPECT_NE(failure("host:").find("bad port"), std::string::npos);
  EXPECT_NE(failure("host: 80").find("bad port"), std::string::npos);
  EXPECT_NE(failure("host:99999999999").find("bad port"), std::string::npos);
}

TEST(HostPortTest, RejectsMissingHostOrPort) {
  EXPECT_NE(failure(":8080").find("empty host"), std::string::npos);
  EXPECT_NE(failure("[]:8080").find("empty host"), std::string::npos);
  EXPECT_NE(failure("host").find("expected HOST:PORT"), std::string::npos);
  EXPECT_NE(failure("").find("expected HOST:PORT"), std::string::npos);
}

TEST(HostPortTest, RejectsUnbracketedOrMalformedIpv6) {
  EXPECT_NE(failure("::1:80").find("brackets"), std::string::npos);
  EXPECT_NE(failure("[::1]80").find("[IPV6]:PORT"), std::string::npos);
  EXPECT_NE(failure("[::1").find("[IPV6]:PORT"), std::string::npos);
  EXPECT_NE(failure("[::1]:").find("bad port"), std::string::npos);
}

TEST(HostPortTest, ZeroPortOnlyWhenAllowed) {
  EXPECT_NE(failure("127.0.0.1:0").find("bad port"), std::string::npos);
  EXPECT_EQ(parsed("127.0.0.1:0", /*allow_zero_port=*/true), (HostPort{"127.0.0.1", 0}));
  EXPECT_EQ(parsed("[::1]:0", /*allow_zero_port=*/true), (HostPort{"::1", 0}));
}

}  // namespace
}  // namespace switchyard
