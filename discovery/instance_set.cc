#include "discovery/instance_set.h"

#include <algorithm>

namespace switchyard::discovery {

void InstanceSet::normalize() {
  // Stable, so that of several entries with one address the first written one survives.
  std::stable_sort(instances.begin(), instances.end(),
                   [](const Instance& a, const Instance& b) { return a.address < b.address; });
  auto last =
      std::unique(instances.begin(), instances.end(),
                  [](const Instance& a, const Instance& b) { return a.address == b.address; });
  instances.erase(last, instances.end());
}

const Instance* InstanceSet::find(const HostPort& address) const {
  auto it = std::lower_bound(
      instances.begin(), instances.end(), address,
      [](const Instance& instance, const HostPort& key) { return instance.address < key; });
  if (it == instances.end() || it->address != address) return nullptr;
  return &*it;
}

}  // namespace switchyard::discovery
