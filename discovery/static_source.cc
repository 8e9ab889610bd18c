#include "discovery/static_source.h"

#include <spdlog/spdlog.h>

#include <utility>

namespace switchyard::discovery {

StaticSource::StaticSource(boost::asio::io_context& control,
                           std::vector<config::StaticInstance> instances, std::string cluster)
    : configured_(std::move(instances)), cluster_(std::move(cluster)), resolver_(control) {}

void StaticSource::start(UpdateCallback on_update) {
  on_update_ = std::move(on_update);
  std::vector<Instance> instances;
  instances.reserve(configured_.size());
  for (const auto& configured : configured_) {
    Instance instance;
    instance.address = configured.address;
    instance.weight = configured.weight;
    instances.push_back(std::move(instance));
  }
  resolver_.resolve(std::move(instances), [this](InstanceSet set, std::vector<std::string> errors) {
    for (const auto& error : errors)
      spdlog::error("cluster {}: static discovery: skipping {}", cluster_, error);
    ready_ = true;
    // A copy: the callback may stop() this source, which clears on_update_.
    if (auto callback = on_update_) callback(std::move(set));
  });
}

void StaticSource::stop() {
  resolver_.cancel();
  on_update_ = nullptr;
}

}  // namespace switchyard::discovery
