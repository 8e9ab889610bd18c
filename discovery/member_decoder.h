#pragma once
// Decodes one znode's data into a member of a ServerSet, for the three writers' formats of
// docs/discovery-formats.md, and Finagle weight vectors. Pure functions: no I/O, no
// logging, no exception escapes; any thread. A malformed document is a Rejection whose `reason`
// is a short, fixed metric label (switchyard_discovery_rejected_members_total{reason}) and whose
// `detail` says what was wrong, for a rate-limited log line.
//
// Formats (config::ServerSetFormat):
//   serverset  Aurora / Twitter: {"serviceEndpoint": {"host","port"}, "additionalEndpoints":
//              {NAME: {"host","port"}}, "status": "ALIVE", "shard": N}. The routed address is
//              additionalEndpoints[endpoint] when endpoint is not empty, else serviceEndpoint.
//              A missing status means ALIVE; shard is optional (-1 when absent).
//   curator    Apache Curator x-discovery: {"name","id","address","port","sslPort","enabled",...}.
//              endpoint "" or "port" routes to port, "ssl" or "sslPort" to sslPort.
//              "enabled": false reads as STOPPED (Curator's way to take an instance out).
//              A null or missing selected port is "no_endpoint" (sslPort is often null).
//   nerve      Airbnb Nerve: {"host","port","name","weight"}; weight (default 1) must be a
//              finite number >= 0. Nerve has no status: a registered member is ALIVE.
// Ports are JSON integers 1..65535 (a string, even "8080", is rejected); hosts are a non-empty
// hostname (labels of letters, digits, '-' and '_', up to 253 characters) or an IP literal.
// Data over kMaxMemberBytes is rejected before parsing.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/host_port.h"
#include "config/config.h"

namespace switchyard::discovery {

// A member is a few hundred bytes; 64 KiB leaves room for large additionalEndpoints maps while
// a 1 MB blob (a broken writer) is refused without parsing.
inline constexpr size_t kMaxMemberBytes = 64 * 1024;

// The ServerSet status values (Twitter's endpoint.thrift Status); only kAlive gets traffic.
enum class MemberStatus { kAlive, kStarting, kStopping, kStopped, kDead, kWarning };
const char* toString(MemberStatus status);  // "ALIVE", "STARTING", ...

struct Member {
  HostPort address;    // the routed host:port, as announced (a name or an IP literal)
  int32_t shard = -1;  // -1 = none announced
  MemberStatus status = MemberStatus::kAlive;
  double weight = 1.0;  // from the document (nerve); 1.0 otherwise

  bool alive() const { return status == MemberStatus::kAlive; }
  friend bool operator==(const Member&, const Member&) = default;
};

struct Rejection {
  // One of: "bad_json", "not_object", "no_endpoint", "bad_host", "bad_port", "too_large",
  // "unknown_status", "bad_shard", "bad_weight", "bad_selector" (weight vectors only).
  std::string reason;
  std::string detail;  // human-readable, for the log
};

using DecodedMember = std::variant<Member, Rejection>;

// Decodes one member's znode data. endpoint is the cluster's discovery.endpoint ("" = default).
DecodedMember decodeMember(std::string_view data, config::ServerSetFormat format,
                           std::string_view endpoint);

// Whether a child of the watched path is a member to read. serverset: names starting with
// "member_" (docs/discovery-formats.md: any other child, such as a "vector_" node, is not one).
// curator: every child (each is an instance id). nerve: every child (Nerve names them
// NAME_SEQUENCE). ZooKeeper's own "zookeeper" child of the root is never a member.
bool isMemberName(std::string_view child, config::ServerSetFormat format);

// Whether a child is a Finagle weight vector ("vector_..."); only ServerSets carry them.
bool isWeightVectorName(std::string_view child);

// One entry of a Finagle weight vector: {"select": "inet=HOST:PORT" | "member=NAME" |
// "shard=N", "weight": W}. Other keys (Finagle's "priority") are ignored.
struct WeightSelector {
  enum class Kind { kInet, kMember, kShard };
  Kind kind = Kind::kMember;
  std::string value;    // the text after '=', as written
  HostPort inet;        // kInet: the parsed HOST:PORT
  int32_t shard = -1;   // kShard: the parsed shard
  double weight = 1.0;  // finite, >= 0

  friend bool operator==(const WeightSelector&, const WeightSelector&) = default;
};

using DecodedWeightVector = std::variant<std::vector<WeightSelector>, Rejection>;

// Decodes a "vector_" node: {"vector": [selector, ...]}. An entry with an unknown selector kind
// or a bad value rejects the whole vector ("bad_selector"), as does a weight that is not a finite
// number >= 0 ("bad_weight"): half a vector would weigh instances in a way nobody wrote.
DecodedWeightVector decodeWeightVector(std::string_view data);

// The weight of one instance under `selectors` (those of every vector of the set): the product
// of the weights of every matching selector, 1.0 when none matches, 0 drains. inet matches the
// announced address (host compared case-insensitively) or, when given, its resolved IP literal
// with the same port; member matches the znode name; shard the announced shard.
double weightFor(const HostPort& address, std::string_view member, int32_t shard,
                 const std::vector<WeightSelector>& selectors, std::string_view resolved_ip = {});

}  // namespace switchyard::discovery
