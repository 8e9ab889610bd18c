#pragma once
// `discovery: { static: [...] }`: a fixed list, resolved once. A name that does not resolve is
// logged and left out; the rest is served (and the source is ready even if nothing resolved).

#include <boost/asio/io_context.hpp>
#include <string>
#include <vector>

#include "config/config.h"
#include "discovery/discovery_source.h"
#include "discovery/host_resolver.h"

namespace switchyard::discovery {

class StaticSource final : public DiscoverySource {
 public:
  StaticSource(boost::asio::io_context& control, std::vector<config::StaticInstance> instances,
               std::string cluster = {});  // cluster name, for logs only

  void start(UpdateCallback on_update) override;
  void stop() override;
  bool ready() const override { return ready_; }
  std::string describe() const override { return "static"; }

 private:
  std::vector<config::StaticInstance> configured_;
  std::string cluster_;
  HostResolver resolver_;
  UpdateCallback on_update_;
  bool ready_ = false;
};

}  // namespace switchyard::discovery
