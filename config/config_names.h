#pragma once
// The spelling of every enum as written in the YAML file: one table per enum, shared by the
// loader (parsing), toString and toYaml, so that the three cannot disagree.

#include <span>
#include <string_view>
#include <utility>

#include "config/config.h"

namespace switchyard::config {

template <class E>
using NameTable = std::span<const std::pair<std::string_view, E>>;

inline constexpr std::pair<std::string_view, ListenerProtocol> kListenerProtocolNames[] = {
    {"http", ListenerProtocol::kHttp},
    {"https", ListenerProtocol::kHttps},
    {"tcp", ListenerProtocol::kTcp},
};

inline constexpr std::pair<std::string_view, DiscoveryKind> kDiscoveryKindNames[] = {
    {"static", DiscoveryKind::kStatic},
    {"file", DiscoveryKind::kFile},
    {"serverset", DiscoveryKind::kServerSet},
};

inline constexpr std::pair<std::string_view, ServerSetFormat> kServerSetFormatNames[] = {
    {"serverset", ServerSetFormat::kServerSet},
    {"curator", ServerSetFormat::kCurator},
    {"nerve", ServerSetFormat::kNerve},
};

inline constexpr std::pair<std::string_view, UpstreamProtocol> kUpstreamProtocolNames[] = {
    {"http1", UpstreamProtocol::kHttp1},
    {"h2c", UpstreamProtocol::kH2c},
    {"h2", UpstreamProtocol::kH2},
};

inline constexpr std::pair<std::string_view, LoadBalancerKind> kLoadBalancerNames[] = {
    {"round_robin", LoadBalancerKind::kRoundRobin},
    {"weighted_round_robin", LoadBalancerKind::kWeightedRoundRobin},
    {"least_request", LoadBalancerKind::kLeastRequest},
    {"p2c_ewma", LoadBalancerKind::kP2cEwma},
    {"ring_hash", LoadBalancerKind::kRingHash},
    {"maglev", LoadBalancerKind::kMaglev},
};

inline constexpr std::pair<std::string_view, AccessLogFormat> kAccessLogFormatNames[] = {
    {"json", AccessLogFormat::kJson},
    {"text", AccessLogFormat::kText},
};

// The name of `value` in `table`; "?" for a value missing from it (a table left behind).
template <class E>
const char* nameOf(NameTable<E> table, E value) {
  for (const auto& [name, v] : table)
    if (v == value) return name.data();  // the literals above are NUL-terminated
  return "?";
}

}  // namespace switchyard::config
