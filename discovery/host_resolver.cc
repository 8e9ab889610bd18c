#include "discovery/host_resolver.h"

#include <boost/asio/post.hpp>
#include <utility>

namespace switchyard::discovery {

namespace asio = boost::asio;

struct HostResolver::Batch {
  uint64_t generation = 0;
  std::vector<Instance> instances;
  std::vector<bool> resolved;
  std::vector<std::string> errors;
  size_t pending = 0;
  Callback done;
};

HostResolver::HostResolver(asio::io_context& control) : control_(control), resolver_(control) {}

HostResolver::~HostResolver() { cancel(); }

void HostResolver::cancel() {
  ++generation_;
  resolver_.cancel();
}

void HostResolver::resolve(std::vector<Instance> instances, Callback done) {
  cancel();
  auto batch = std::make_shared<Batch>();
  batch->generation = generation_;
  batch->instances = std::move(instances);
  batch->resolved.assign(batch->instances.size(), false);
  batch->done = std::move(done);
  // One count for the whole batch so that it cannot finish while lookups are still being issued.
  batch->pending = 1;

  std::weak_ptr<char> alive = alive_;
  for (size_t i = 0; i < batch->instances.size(); ++i) {
    Instance& instance = batch->instances[i];
    boost::system::error_code ec;
    auto ip = asio::ip::make_address(instance.address.host, ec);
    if (!ec) {
      instance.ip = ip;
      batch->resolved[i] = true;
      continue;
    }
    ++batch->pending;
    resolver_.async_resolve(
        instance.address.host, std::to_string(instance.address.port),
        asio::ip::tcp::resolver::numeric_service,
        [this, alive, batch, i](const boost::system::error_code& error,
                                asio::ip::tcp::resolver::results_type results) {
          if (alive.expired() || batch->generation != generation_) return;
          Instance& instance = batch->instances[i];
          if (error) {
            batch->errors.push_back(instance.address.str() + ": " + error.message());
          } else if (results.empty()) {
            batch->errors.push_back(instance.address.str() + ": no address");
          } else {
            // Prefer IPv4: "localhost" often lists ::1 first while most services, and every
            // test backend here, listen on 127.0.0.1 / 0.0.0.0 only.
            auto chosen = results.begin()->endpoint().address();
            for (const auto& entry : results) {
              if (entry.endpoint().address().is_v4()) {
                chosen = entry.endpoint().address();
                break;
              }
            }
            instance.ip = chosen;
            batch->resolved[i] = true;
          }
          finishOne(batch);
        });
  }
  // The batch's own count, released asynchronously so that done() never runs inside resolve().
  asio::post(control_, [this, alive, batch] {
    if (alive.expired() || batch->generation != generation_) return;
    finishOne(batch);
  });
}

void HostResolver::finishOne(const std::shared_ptr<Batch>& batch) {
  if (--batch->pending > 0) return;
  InstanceSet set;
  set.instances.reserve(batch->instances.size());
  for (size_t i = 0; i < batch->instances.size(); ++i)
    if (batch->resolved[i]) set.instances.push_back(std::move(batch->instances[i]));
  set.normalize();
  // Move the callback out first: it may start a new resolve(), which must not see this batch.
  Callback done = std::move(batch->done);
  done(std::move(set), std::move(batch->errors));
}

}  // namespace switchyard::discovery
