#pragma once
// A real ZooKeeper server (Debian's Java `zookeeper` package) as a child process of a test:
// loopback only, a free port, a fresh temp dir, admin server off, every four-letter word allowed,
// a 200 ms tick so session timeouts of 1-4 s work. start() returns once `srvr` says the server
// serves; stop() sends SIGTERM by PID (SIGKILL after a bound); kill() is SIGKILL, as a crash.
// start() after stop()/kill() reuses the same port and data dir, so persistent nodes survive and
// clients' sessions can reconnect (or find them expired when the server was down longer than the
// session timeout). The destructor stops the server. Standalone by default; ZooKeeperEnsemble
// builds members of a quorum with the second constructor. The server accepts nodes of up to
// ~4 MiB (jute.maxbuffer), so tests can write the oversize members a gateway must reject.
// Not thread-safe: the test thread owns it.
//
//   ZooKeeperServer zk;
//   ASSERT_TRUE(zk.start());
//   ZkTestClient client;
//   ASSERT_TRUE(client.connect(zk.connectString()));
//
// Environment: SWITCHYARD_ZOOKEEPER_CLASSPATH overrides the Java class path (default: Debian's
// zookeeper.jar, whose manifest names its dependencies, and slf4j-simple.jar for logs).

#include <gtest/gtest.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tests/support/child_process.h"
#include "tests/support/temp_dir.h"

namespace switchyard::support {

struct ZooKeeperServerOptions {
  int tick_time_ms = 200;
  // The server clamps client session timeouts to [min, max].
  int min_session_timeout_ms = 400;
  int max_session_timeout_ms = 30000;
  // start() gives up (and kills the JVM) when the server does not serve within this.
  std::chrono::milliseconds ready_timeout = std::chrono::seconds(30);
  // stop() waits this long after SIGTERM before SIGKILL.
  std::chrono::milliseconds stop_grace = std::chrono::seconds(5);
};

// One server of an ensemble: its id (myid, 1-based) and its three loopback ports.
struct ZooKeeperPeer {
  int id = 0;
  uint16_t client_port = 0;
  uint16_t peer_port = 0;      // followers connect to the leader here
  uint16_t election_port = 0;  // leader election
};

class ZooKeeperServer {
 public:
  // A standalone server on a free loopback port (chosen now; start() binds it).
  explicit ZooKeeperServer(ZooKeeperServerOptions options = {});
  // Server my_id of the ensemble `peers` (QuorumPeerMain); its client port is its peer entry's.
  ZooKeeperServer(int my_id, std::vector<ZooKeeperPeer> peers, ZooKeeperServerOptions options = {});
  ~ZooKeeperServer();
  ZooKeeperServer(const ZooKeeperServer&) = delete;
  ZooKeeperServer& operator=(const ZooKeeperServer&) = delete;

  // spawn() then waitServing(). On failure the JVM is killed and the message carries the tail of
  // the server's log.
  ::testing::AssertionResult start();
  // Starts the JVM without waiting (an ensemble starts all members, then waits for each).
  ::testing::AssertionResult spawn();
  // Polls `srvr` until it answers "Zookeeper version" without "not currently serving".
  ::testing::AssertionResult waitServing(std::chrono::milliseconds timeout);
  // SIGTERM by PID, SIGKILL after options.stop_grace; waits for the exit. No-op when not running.
  void stop();
  // SIGKILL by PID and wait: the server dies as in a crash, without closing sessions.
  void kill();
  bool running() { return process_.running(); }
  // PID of the JVM last started (it may have exited since); -1 before the first start().
  pid_t pid() const { return process_.pid(); }

  uint16_t port() const { return port_; }
  // "127.0.0.1:PORT", for a client's connect string.
  std::string connectString() const;
  // Sends a four-letter word ("srvr", "cons", "mntr", ...) and returns the whole answer; empty
  // when the server does not answer within timeout.
  std::string fourLetterWord(std::string_view word,
                             std::chrono::milliseconds timeout = std::chrono::seconds(2)) const;
  // True when the server's `cons` lists a connection of this session id.
  bool hasSession(int64_t session_id) const;
  // The last max_bytes of the server's log (every run of this server appends to it).
  std::string logTail(size_t max_bytes = 4000) const;
  const std::string& dataDir() const { return data_dir_; }
  const std::string& configPath() const { return config_path_; }

 private:
  void writeConfig(const std::vector<ZooKeeperPeer>& peers, int my_id);

  ZooKeeperServerOptions options_;
  TempDir dir_;
  std::string data_dir_;
  std::string config_path_;
  std::string main_class_;
  uint16_t port_ = 0;
  ChildProcess process_;
};

}  // namespace switchyard::support
