#pragma once
// The extension point for discovery: static lists, files, ZooKeeper ServerSets.

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "discovery/instance_set.h"

namespace switchyard::discovery {

// What a source tells the admin API and the metrics beyond its set.
struct SourceStatus {
  std::map<std::string, uint64_t> rejected;  // malformed or unresolvable members, by reason
  bool holding_previous = false;  // the set became empty; the previous instances still serve
  size_t members = 0;             // entries seen (members read, good or bad)
  uint64_t reads = 0;             // reads issued to the backing store (ZooKeeper), ever
  std::string detail;             // e.g. "path does not exist (yet); watching for it"
};

class DiscoverySource {
 public:
  using UpdateCallback = std::function<void(InstanceSet)>;

  virtual ~DiscoverySource() = default;

  // Control thread only. Begins watching; `on_update` is called on the control thread with the
  // whole resolved set each time it changes, and once after the first successful read (which
  // makes ready() true). A source never calls back after stop() or destruction.
  virtual void start(UpdateCallback on_update) = 0;
  virtual void stop() = 0;

  // True once the source has been read (and resolved) once.
  virtual bool ready() const = 0;
  // For logs and the admin API: "static", "file:/etc/x.yaml", "serverset:/aurora/...".
  virtual std::string describe() const = 0;
  virtual SourceStatus status() const { return {}; }
};

}  // namespace switchyard::discovery
