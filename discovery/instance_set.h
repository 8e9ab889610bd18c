#pragma once
// The value a discovery source produces: the instances of one cluster, sorted by address and
// unique, compared and diffed, never mutated after it is published.

#include <boost/asio/ip/address.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "common/host_port.h"

namespace switchyard::discovery {

struct Instance {
  HostPort address;               // the routed host:port as announced (a name or an address)
  boost::asio::ip::address ip;    // resolved address of address.host
  int32_t shard = -1;             // -1 = none announced
  double weight = 1.0;            // from the source (file, nerve); 1.0 = normal, 0 = no traffic
  std::string member;             // znode name ("member_0000000007") where there is one

  // Identity is the routed host:port (docs/discovery-formats.md): a re-join under a new znode
  // name is the same instance. Equality compares every field so that a changed weight or shard
  // is a change.
  friend bool operator==(const Instance&, const Instance&) = default;
};

struct InstanceSet {
  std::vector<Instance> instances;  // sorted by address, no duplicate address

  // Sorts by address and drops later duplicates of an address.
  void normalize();
  const Instance* find(const HostPort& address) const;
  friend bool operator==(const InstanceSet&, const InstanceSet&) = default;
};

}  // namespace switchyard::discovery
