#include "discovery/member_decoder.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace switchyard::discovery {
namespace {

using config::ServerSetFormat;

std::string sample(const std::string& name) {
  std::string path = std::string(SWITCHYARD_SOURCE_DIR) + "/tests/data/serversets/" + name;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("missing sample " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Member expectMember(const DecodedMember& decoded) {
  if (const auto* r = std::get_if<Rejection>(&decoded)) {
    ADD_FAILURE() << "rejected: " << r->reason << ": " << r->detail;
    return {};
  }
  return std::get<Member>(decoded);
}

// The reason of a rejection, or "accepted".
std::string reasonOf(const DecodedMember& decoded) {
  if (const auto* r = std::get_if<Rejection>(&decoded)) return r->reason;
  return "accepted";
}

std::string reasonOf(const DecodedWeightVector& decoded) {
  if (const auto* r = std::get_if<Rejection>(&decoded)) return r->reason;
  return "accepted";
}

TEST(MemberDecoderTest, AuroraMemberRoutesToServiceEndpointOrANamedEndpoint) {
  std::string data = sample("aurora-member.json");
  Member m = expectMember(decodeMember(data, ServerSetFormat::kServerSet, ""));
  EXPECT_EQ(m.address, (HostPort{"mesos-agent-17.example.net", 31337}));
  EXPECT_EQ(m.shard, 7);
  EXPECT_EQ(m.status, MemberStatus::kAlive);
  EXPECT_TRUE(m.alive());
  EXPECT_EQ(m.weight, 1.0);

  Member health = expectMember(decodeMember(data, ServerSetFormat::kServerSet, "health"));
  EXPECT_EQ(health.address, (HostPort{"mesos-agent-17.example.net", 31338}));
  EXPECT_EQ(health.shard, 7);
  Member http = expectMember(decodeMember(data, ServerSetFormat::kServerSet, "http"));
  EXPECT_EQ(http.address.port, 31337);

  auto missing = decodeMember(data, ServerSetFormat::kServerSet, "grpc");
  EXPECT_EQ(reasonOf(missing), "no_endpoint");
  EXPECT_NE(std::get<Rejection>(missing).detail.find("additionalEndpoints[grpc]"),
            std::string::npos);
}

TEST(MemberDecoderTest, MinimalTwitterMemberHasNoShardAndNoExtraEndpoints) {
  std::string data = sample("twitter-member-minimal.json");
  Member m = expectMember(decodeMember(data, ServerSetFormat::kServerSet, ""));
  EXPECT_EQ(m.address, (HostPort{"10.1.2.3", 8080}));
  EXPECT_EQ(m.shard, -1);
  EXPECT_EQ(reasonOf(decodeMember(data, ServerSetFormat::kServerSet, "http")), "no_endpoint");
}

TEST(MemberDecoderTest, CuratorInstance) {
  std::string data = sample("curator-instance.json");
  Member m = expectMember(decodeMember(data, ServerSetFormat::kCurator, ""));
  EXPECT_EQ(m.address, (HostPort{"10.7.0.12", 8443}));
  EXPECT_EQ(m.status, MemberStatus::kAlive);
  EXPECT_EQ(m.shard, -1);
  EXPECT_EQ(expectMember(decodeMember(data, ServerSetFormat::kCurator, "port")).address.port, 8443);
  // The sample's sslPort is null: no such endpoint.
  EXPECT_EQ(reasonOf(decodeMember(data, ServerSetFormat::kCurator, "ssl")), "no_endpoint");
  EXPECT_EQ(reasonOf(decodeMember(data, ServerSetFormat::kCurator, "http")), "no_endpoint");

  Member ssl = expectMember(
      decodeMember(R"({"name":"c","id":"x","address":"c-1.internal","port":null,"sslPort":9443})",
                   ServerSetFormat::kCurator, "ssl"));
  EXPECT_EQ(ssl.address, (HostPort{"c-1.internal", 9443}));
  Member disabled = expectMember(decodeMember(R"({"address":"10.0.0.1","port":80,"enabled":false})",
                                              ServerSetFormat::kCurator, ""));
  EXPECT_EQ(disabled.status, MemberStatus::kStopped);
  EXPECT_FALSE(disabled.alive());
  // A ServerSet document is not a Curator instance: it has no top-level port.
  EXPECT_EQ(
      reasonOf(decodeMember(sample("twitter-member-minimal.json"), ServerSetFormat::kCurator, "")),
      "no_endpoint");
  EXPECT_EQ(reasonOf(decodeMember(R"({"port":80})", ServerSetFormat::kCurator, "")), "bad_host");
}

TEST(MemberDecoderTest, NerveMemberKeepsItsWeight) {
  Member m = expectMember(decodeMember(sample("nerve-member.json"), ServerSetFormat::kNerve, ""));
  EXPECT_EQ(m.address, (HostPort{"10.4.5.6", 8080}));
  EXPECT_EQ(m.weight, 10.0);
  EXPECT_EQ(m.status, MemberStatus::kAlive);

  Member no_weight =
      expectMember(decodeMember(R"({"host":"web-1","port":80})", ServerSetFormat::kNerve, ""));
  EXPECT_EQ(no_weight.weight, 1.0);
  Member zero = expectMember(
      decodeMember(R"({"host":"web-1","port":80,"weight":0})", ServerSetFormat::kNerve, ""));
  EXPECT_EQ(zero.weight, 0.0);
  EXPECT_EQ(reasonOf(decodeMember(R"({"host":"web-1","port":80,"weight":-1})",
                                  ServerSetFormat::kNerve, "")),
            "bad_weight");
  EXPECT_EQ(reasonOf(decodeMember(R"({"host":"web-1","port":80,"weight":"10"})",
                                  ServerSetFormat::kNerve, "")),
            "bad_weight");
}

TEST(MemberDecoderTest, EveryBadSampleIsRejectedWithItsReason) {
  const std::pair<const char*, const char*> cases[] = {
      {"bad/empty-host.json", "bad_host"},           {"bad/no-port.json", "bad_port"},
      {"bad/not-an-object.json", "not_object"},      {"bad/port-not-a-number.json", "bad_port"},
      {"bad/port-out-of-range.json", "bad_port"},    {"bad/truncated.json", "bad_json"},
      {"bad/unknown-status.json", "unknown_status"},
  };
  size_t checked = 0;
  for (const auto& [file, reason] : cases) {
    auto decoded = decodeMember(sample(file), ServerSetFormat::kServerSet, "");
    EXPECT_EQ(reasonOf(decoded), reason) << file;
    if (auto* r = std::get_if<Rejection>(&decoded)) {
      EXPECT_FALSE(r->detail.empty()) << file;
    }
    ++checked;
  }
  // Every file of bad/ is in the table: a new sample cannot go untested.
  size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(std::string(SWITCHYARD_SOURCE_DIR) +
                                                               "/tests/data/serversets/bad")) {
    files += entry.path().extension() == ".json";
  }
  EXPECT_EQ(files, checked);
}

TEST(MemberDecoderTest, PortsMustBeIntegersInRange) {
  auto port = [](const std::string& value) {
    return decodeMember(R"({"serviceEndpoint":{"host":"10.0.0.1","port":)" + value + "}}",
                        ServerSetFormat::kServerSet, "");
  };
  EXPECT_EQ(reasonOf(port("0")), "bad_port");
  EXPECT_EQ(reasonOf(port("70000")), "bad_port");
  EXPECT_EQ(reasonOf(port("65536")), "bad_port");
  EXPECT_EQ(reasonOf(port("-80")), "bad_port");
  EXPECT_EQ(reasonOf(port("80.5")), "bad_port");
  EXPECT_EQ(reasonOf(port("\"8080\"")), "bad_port");
  EXPECT_EQ(reasonOf(port("null")), "bad_port");
  EXPECT_EQ(reasonOf(port("1e3")), "bad_port");
  EXPECT_EQ(reasonOf(port("18446744073709551616")), "bad_port");
  EXPECT_EQ(expectMember(port("1")).address.port, 1);
  EXPECT_EQ(expectMember(port("65535")).address.port, 65535);
}

TEST(MemberDecoderTest, HostsMustBeHostnamesOrIpLiterals) {
  auto host = [](const std::string& value) {
    return decodeMember(R"({"serviceEndpoint":{"host":)" + value + R"(,"port":80}})",
                        ServerSetFormat::kServerSet, "");
  };
  EXPECT_EQ(expectMember(host(R"("web-1.prod.example.net")")).address.host,
            "web-1.prod.example.net");
  EXPECT_EQ(expectMember(host(R"("web_1.internal.")")).address.host, "web_1.internal.");
  EXPECT_EQ(expectMember(host(R"("::1")")).address.host, "::1");
  EXPECT_EQ(expectMember(host(R"("[fe80::1]")")).address.host, "fe80::1");
  EXPECT_EQ(expectMember(host(R"("192.168.0.1")")).address.host, "192.168.0.1");
  for (const char* bad : {R"("")", R"("a b")", R"("web..example")", R"("-web")", R"("web:80")",
                          R"("http://web")", R"(null)", R"(42)", R"("web\u0000x")"}) {
    EXPECT_EQ(reasonOf(host(bad)), "bad_host") << bad;
  }
  EXPECT_EQ(reasonOf(host('"' + std::string(64, 'a') + '"')), "bad_host");  // label > 63
  EXPECT_EQ(reasonOf(host('"' + std::string(300, 'a') + '"')), "bad_host");
}

TEST(MemberDecoderTest, StatusAndShard) {
  auto with = [](const std::string& extra) {
    return decodeMember(R"({"serviceEndpoint":{"host":"h","port":80})" + extra + "}",
                        ServerSetFormat::kServerSet, "");
  };
  const std::pair<const char*, MemberStatus> statuses[] = {
      {"ALIVE", MemberStatus::kAlive},       {"STARTING", MemberStatus::kStarting},
      {"STOPPING", MemberStatus::kStopping}, {"STOPPED", MemberStatus::kStopped},
      {"DEAD", MemberStatus::kDead},         {"WARNING", MemberStatus::kWarning},
  };
  for (const auto& [name, status] : statuses) {
    Member m = expectMember(with(std::string(R"(,"status":")") + name + "\""));
    EXPECT_EQ(m.status, status) << name;
    EXPECT_STREQ(toString(m.status), name);
    EXPECT_EQ(m.alive(), status == MemberStatus::kAlive);
  }
  EXPECT_EQ(expectMember(with("")).status, MemberStatus::kAlive);  // missing means ALIVE
  EXPECT_EQ(expectMember(with(R"(,"status":null)")).status, MemberStatus::kAlive);
  EXPECT_EQ(reasonOf(with(R"(,"status":"alive")")), "unknown_status");
  EXPECT_EQ(reasonOf(with(R"(,"status":2)")), "unknown_status");

  EXPECT_EQ(expectMember(with(R"(,"shard":0)")).shard, 0);
  EXPECT_EQ(expectMember(with(R"(,"shard":2147483647)")).shard, 2147483647);
  EXPECT_EQ(reasonOf(with(R"(,"shard":-1)")), "bad_shard");
  EXPECT_EQ(reasonOf(with(R"(,"shard":2147483648)")), "bad_shard");
  EXPECT_EQ(reasonOf(with(R"(,"shard":"3")")), "bad_shard");
  EXPECT_EQ(reasonOf(with(R"(,"shard":1.5)")), "bad_shard");
}

TEST(MemberDecoderTest, MalformedDocuments) {
  for (auto format :
       {ServerSetFormat::kServerSet, ServerSetFormat::kCurator, ServerSetFormat::kNerve}) {
    EXPECT_EQ(reasonOf(decodeMember("", format, "")), "bad_json");
    EXPECT_EQ(reasonOf(decodeMember("{", format, "")), "bad_json");
    EXPECT_EQ(reasonOf(decodeMember("\xff\xfe", format, "")), "bad_json");
    EXPECT_EQ(reasonOf(decodeMember("null", format, "")), "not_object");
    EXPECT_EQ(reasonOf(decodeMember("\"member\"", format, "")), "not_object");
    EXPECT_EQ(reasonOf(decodeMember(std::string(100'000, '['), format, "")), "too_large");
    EXPECT_EQ(reasonOf(decodeMember(std::string(50'000, '['), format, "")), "bad_json");
    // Deep but valid nesting within the size limit: parsed and freed without recursion trouble.
    EXPECT_EQ(
        reasonOf(decodeMember(std::string(30'000, '[') + std::string(30'000, ']'), format, "")),
        "not_object");
  }
  EXPECT_EQ(reasonOf(decodeMember("{}", ServerSetFormat::kServerSet, "")), "no_endpoint");
  EXPECT_EQ(reasonOf(decodeMember(R"({"serviceEndpoint":"10.0.0.1:80"})",
                                  ServerSetFormat::kServerSet, "")),
            "no_endpoint");
  EXPECT_EQ(reasonOf(decodeMember(R"({"serviceEndpoint":{"host":"h","port":80},
                                      "additionalEndpoints":[]})",
                                  ServerSetFormat::kServerSet, "http")),
            "no_endpoint");
}

TEST(MemberDecoderTest, OneMegabyteIsRejectedBeforeParsing) {
  // A valid member padded to 1 MB: refused for its size alone.
  std::string big = R"({"serviceEndpoint":{"host":"10.0.0.1","port":80},"pad":")";
  big += std::string(1024 * 1024, 'x') + "\"}";
  auto decoded = decodeMember(big, ServerSetFormat::kServerSet, "");
  EXPECT_EQ(reasonOf(decoded), "too_large");
  EXPECT_NE(std::get<Rejection>(decoded).detail.find(std::to_string(big.size())),
            std::string::npos);
  // At the limit it is still read.
  std::string at_limit = R"({"serviceEndpoint":{"host":"10.0.0.1","port":80},"pad":")";
  at_limit += std::string(kMaxMemberBytes - at_limit.size() - 2, 'x') + "\"}";
  ASSERT_EQ(at_limit.size(), kMaxMemberBytes);
  EXPECT_EQ(reasonOf(decodeMember(at_limit, ServerSetFormat::kServerSet, "")), "accepted");
  EXPECT_EQ(reasonOf(decodeWeightVector(big)), "too_large");
}

TEST(MemberDecoderTest, MemberNames) {
  EXPECT_TRUE(isMemberName("member_0000000007", ServerSetFormat::kServerSet));
  EXPECT_TRUE(isMemberName("member_", ServerSetFormat::kServerSet));
  for (const char* other :
       {"vector_0000000001", "lock", "Member_0000000001", "zookeeper", "", "status", "_member_1"}) {
    EXPECT_FALSE(isMemberName(other, ServerSetFormat::kServerSet)) << other;
  }
  EXPECT_TRUE(isMemberName("4b1f0c9e-8d2a-4c51-9d3e-2b7f6a1c0e55", ServerSetFormat::kCurator));
  EXPECT_TRUE(isMemberName("i-0abc123_0000000003", ServerSetFormat::kNerve));
  EXPECT_FALSE(isMemberName("", ServerSetFormat::kCurator));
  EXPECT_FALSE(isMemberName("zookeeper", ServerSetFormat::kNerve));
  EXPECT_TRUE(isWeightVectorName("vector_0000000001"));
  EXPECT_TRUE(isWeightVectorName("vector_switchyard"));
  EXPECT_FALSE(isWeightVectorName("member_0000000001"));
}

TEST(MemberDecoderTest, FinagleWeightVector) {
  auto decoded = decodeWeightVector(sample("finagle-vector.json"));
  ASSERT_EQ(reasonOf(decoded), "accepted") << std::get<Rejection>(decoded).detail;
  const auto& v = std::get<std::vector<WeightSelector>>(decoded);
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v[0].kind, WeightSelector::Kind::kMember);
  EXPECT_EQ(v[0].value, "member_0000000005");
  EXPECT_EQ(v[0].weight, 0.25);
  EXPECT_EQ(v[1].kind, WeightSelector::Kind::kInet);
  EXPECT_EQ(v[1].inet, (HostPort{"10.1.2.3", 8080}));
  EXPECT_EQ(v[1].weight, 2.0);
  EXPECT_EQ(v[2].kind, WeightSelector::Kind::kShard);
  EXPECT_EQ(v[2].shard, 7);
  EXPECT_EQ(v[2].weight, 0.0);

  EXPECT_EQ(weightFor({"10.9.9.9", 80}, "member_0000000001", 1, v), 1.0);  // no match
  EXPECT_EQ(weightFor({"10.1.2.3", 8080}, "member_0000000001", 1, v), 2.0);
  EXPECT_EQ(weightFor({"10.1.2.3", 8081}, "member_0000000001", 1, v), 1.0);  // other port
  EXPECT_EQ(weightFor({"10.1.2.3", 8080}, "member_0000000005", 1, v), 0.5);  // product
  EXPECT_EQ(weightFor({"10.1.2.3", 8080}, "member_0000000005", 7, v), 0.0);  // shard 7 drains
  EXPECT_EQ(weightFor({"10.1.2.3", 8080}, "", -1, v), 2.0);
  // inet matches the resolved IP of a named host too, and names case-insensitively.
  EXPECT_EQ(weightFor({"web-1.example", 8080}, "", -1, v, "10.1.2.3"), 2.0);
  EXPECT_EQ(weightFor({"web-1.example", 8080}, "", -1, v), 1.0);
  auto named = std::get<std::vector<WeightSelector>>(
      decodeWeightVector(R"({"vector":[{"select":"inet=Web-1.Example:8080","weight":3}]})"));
  EXPECT_EQ(weightFor({"web-1.example", 8080}, "", -1, named), 3.0);
  // Two vectors' selectors together: still the product.
  auto all = v;
  all.insert(all.end(), named.begin(), named.end());
  EXPECT_EQ(weightFor({"web-1.example", 8080}, "member_0000000005", -1, all, "10.1.2.3"), 1.5);
  EXPECT_EQ(weightFor({"10.1.2.3", 8080}, "m", 1, {}), 1.0);

  auto empty = decodeWeightVector(R"({"vector":[]})");
  EXPECT_TRUE(std::get<std::vector<WeightSelector>>(empty).empty());
}

TEST(MemberDecoderTest, MalformedWeightVectors) {
  EXPECT_EQ(reasonOf(decodeWeightVector("{")), "bad_json");
  EXPECT_EQ(reasonOf(decodeWeightVector("[]")), "not_object");
  EXPECT_EQ(reasonOf(decodeWeightVector("{}")), "bad_selector");
  EXPECT_EQ(reasonOf(decodeWeightVector(R"({"vector":{}})")), "bad_selector");
  auto one = [](const std::string& entry) {
    return reasonOf(decodeWeightVector(R"({"vector":[)" + entry + "]}"));
  };
  EXPECT_EQ(one(R"(1)"), "bad_selector");
  EXPECT_EQ(one(R"({"weight":1})"), "bad_selector");
  EXPECT_EQ(one(R"({"select":"host=a:1","weight":1})"), "bad_selector");
  EXPECT_EQ(one(R"({"select":"inet","weight":1})"), "bad_selector");
  EXPECT_EQ(one(R"({"select":"inet=10.0.0.1","weight":1})"), "bad_selector");
  EXPECT_EQ(one(R"({"select":"inet=10.0.0.1:0","weight":1})"), "bad_selector");
  EXPECT_EQ(one(R"({"select":"member=","weight":1})"), "bad_selector");
  EXPECT_EQ(one(R"({"select":"shard=x","weight":1})"), "bad_selector");
  EXPECT_EQ(one(R"({"select":"shard=-2","weight":1})"), "bad_selector");
  EXPECT_EQ(one(R"({"select":"shard=3"})"), "bad_weight");
  EXPECT_EQ(one(R"({"select":"shard=3","weight":-0.5})"), "bad_weight");
  EXPECT_EQ(one(R"({"select":"shard=3","weight":"2"})"), "bad_weight");
  EXPECT_EQ(one(R"({"select":"shard=3","weight":1e999})"), "bad_json");  // not a JSON number
  EXPECT_EQ(one(R"({"select":"shard=3","weight":2,"priority":1})"), "accepted");
}

}  // namespace
}  // namespace switchyard::discovery
