#pragma once
// A ZooKeeper ensemble of N servers (3 by default) on loopback, each a ZooKeeperServer with its
// own free client, peer and election ports and its own temp dir. start() starts every member
// and returns once each serves (a quorum elected a leader). kill(i)/stop(i)/start(i) act on one
// member; the others keep serving while a majority runs. serverConnectedFrom(pid) tells which
// member a process (the gateway, or this test) holds its ZooKeeper connection to, so a test can
// kill exactly that one. The destructor stops every member.
// Not thread-safe: the test thread owns it.

#include <gtest/gtest.h>
#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tests/support/zookeeper_server.h"

namespace switchyard::support {

class ZooKeeperEnsemble {
 public:
  explicit ZooKeeperEnsemble(size_t size = 3, ZooKeeperServerOptions options = {});
  ZooKeeperEnsemble(const ZooKeeperEnsemble&) = delete;
  ZooKeeperEnsemble& operator=(const ZooKeeperEnsemble&) = delete;

  // Starts every member not running, then waits until each serves.
  ::testing::AssertionResult start();
  // Member i (0-based): start and wait until it serves (needs a quorum running), stop, kill.
  ::testing::AssertionResult start(size_t i);
  void stop(size_t i) { servers_.at(i)->stop(); }
  void kill(size_t i) { servers_.at(i)->kill(); }

  size_t size() const { return servers_.size(); }
  ZooKeeperServer& server(size_t i) { return *servers_.at(i); }
  // "127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3".
  std::string connectString() const;
  // The member whose client address is host_port ("127.0.0.1:PORT", as zoo_get_current_server
  // gives it), if any.
  std::optional<size_t> indexOf(std::string_view host_port) const;
  // The member that lists session_id among its connections (`cons`), if any.
  std::optional<size_t> serverWithSession(int64_t session_id) const;
  // The member to which process pid has an established TCP connection on its client port (read
  // from /proc/PID/fd and /proc/PID/net/tcp), if any. Works for any process of this user.
  std::optional<size_t> serverConnectedFrom(pid_t pid) const;

 private:
  std::vector<std::unique_ptr<ZooKeeperServer>> servers_;
};

}  // namespace switchyard::support
