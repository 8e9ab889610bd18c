#pragma once
// Resolves the host names of a list of instances on the control io_context, for every source
// that reads names (static, file, and later ZooKeeper): IP literals need no lookup, names go
// through asio's asynchronous resolver (getaddrinfo on asio's private thread), and the result
// comes back on the control thread.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "discovery/instance_set.h"

namespace switchyard::discovery {

class HostResolver {
 public:
  // `resolved` is normalized (sorted, unique) and holds only the instances whose host resolved;
  // `errors` has one message per instance that did not ("db-7:5432: Host not found").
  using Callback = std::function<void(InstanceSet resolved, std::vector<std::string> errors)>;

  explicit HostResolver(boost::asio::io_context& control);
  // Safe while a lookup is pending: its callback is never called.
  ~HostResolver();
  HostResolver(const HostResolver&) = delete;
  HostResolver& operator=(const HostResolver&) = delete;

  // Control thread. Fills `ip` of each instance from `address.host` and calls `done` on the
  // control thread, always asynchronously (never from inside resolve()). One batch at a time:
  // a new resolve() supersedes a pending one, whose callback is then never called, which is what
  // a source wants when its input changes faster than names resolve.
  void resolve(std::vector<Instance> instances, Callback done);

  // Control thread. Drops the pending batch, if any, without calling it back.
  void cancel();

 private:
  struct Batch;
  void finishOne(const std::shared_ptr<Batch>& batch);

  boost::asio::io_context& control_;
  boost::asio::ip::tcp::resolver resolver_;
  uint64_t generation_ = 0;
  // Handlers hold a weak_ptr to it: once expired, the HostResolver is gone and they do nothing.
  std::shared_ptr<char> alive_ = std::make_shared<char>();
};

}  // namespace switchyard::discovery
