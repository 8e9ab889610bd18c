#include "tests/support/zookeeper_server.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "tests/support/free_port.h"

namespace switchyard::support {

namespace {

using Clock = std::chrono::steady_clock;

std::string classPath() {
  const char* env = std::getenv("SWITCHYARD_ZOOKEEPER_CLASSPATH");
  if (env && *env) return env;
  return "/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-simple.jar";
}

}  // namespace

ZooKeeperServer::ZooKeeperServer(ZooKeeperServerOptions options)
    : options_(options), dir_("switchyard-zk") {
  port_ = freeLoopbackPort();
  main_class_ = "org.apache.zookeeper.server.ZooKeeperServerMain";
  writeConfig({}, 0);
}

ZooKeeperServer::ZooKeeperServer(int my_id, std::vector<ZooKeeperPeer> peers,
                                 ZooKeeperServerOptions options)
    : options_(options), dir_("switchyard-zk" + std::to_string(my_id)) {
  for (const auto& p : peers)
    if (p.id == my_id) port_ = p.client_port;
  main_class_ = "org.apache.zookeeper.server.quorum.QuorumPeerMain";
  writeConfig(peers, my_id);
}

ZooKeeperServer::~ZooKeeperServer() { stop(); }

void ZooKeeperServer::writeConfig(const std::vector<ZooKeeperPeer>& peers, int my_id) {
  data_dir_ = dir_.file("data");
  std::filesystem::create_directories(data_dir_);
  std::string cfg = fmt::format(
      "tickTime={}\n"
      "dataDir={}\n"
      "clientPort={}\n"
      "clientPortAddress=127.0.0.1\n"
      "minSessionTimeout={}\n"
      "maxSessionTimeout={}\n"
      // The embedded admin server would take port 8080 and break a second server on the host.
      "admin.enableServer=false\n"
      "4lw.commands.whitelist=*\n"
      // Tests create a few nodes: no need for the default 64 MB preallocation per log file.
      "preAllocSize=1024\n",
      options_.tick_time_ms, data_dir_, port_, options_.min_session_timeout_ms,
      options_.max_session_timeout_ms);
  if (!peers.empty()) {
    // 25 ticks (5 s at 200 ms) for a follower to load and sync; 10 to stay in sync. Generous,
    // because 2 cores are shared by several JVMs and test binaries.
    cfg += "initLimit=25\nsyncLimit=10\n";
    for (const auto& p : peers) {
      cfg += fmt::format("server.{}=127.0.0.1:{}:{}\n", p.id, p.peer_port, p.election_port);
    }
    dir_.writeFile("data/myid", std::to_string(my_id) + "\n");
  }
  config_path_ = dir_.writeFile("zoo.cfg", cfg);
}

std::string ZooKeeperServer::connectString() const { return "127.0.0.1:" + std::to_string(port_); }

::testing::AssertionResult ZooKeeperServer::start() {
  if (auto spawned = spawn(); !spawned) return spawned;
  return waitServing(options_.ready_timeout);
}

::testing::AssertionResult ZooKeeperServer::spawn() {
  if (process_.running()) return ::testing::AssertionSuccess();
  std::vector<std::string> argv = {
      "java",
      // A small, quick-starting JVM: the server holds a handful of nodes.
      "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xmx256m", "-XX:-UsePerfData",
      // Election rounds back off to 60 s by default; a restarted member must rejoin quickly.
      "-Dzookeeper.fastleader.maxNotificationInterval=1000", "-Dzookeeper.cnxTimeout=1000",
      // Tests write oversize members (1 MiB and more); the default limit is 1 MiB - 1 per packet.
      "-Djute.maxbuffer=4194304",
      "-Dorg.slf4j.simpleLogger.showDateTime=true",
      "-Dorg.slf4j.simpleLogger.dateTimeFormat=HH:mm:ss.SSS", "-cp", classPath(), main_class_,
      config_path_};
  std::string error = process_.spawn(argv, dir_.path(), dir_.file("zookeeper.log"));
  if (!error.empty()) return ::testing::AssertionFailure() << "cannot start ZooKeeper: " << error;
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult ZooKeeperServer::waitServing(std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  std::string last = "no answer";
  while (Clock::now() < deadline) {
    if (!process_.running()) {
      return ::testing::AssertionFailure()
             << "ZooKeeper on " << connectString() << " exited with status "
             << process_.exitStatus().value_or(-1) << " before serving\nlog tail:\n"
             << logTail();
    }
    std::string answer = fourLetterWord("srvr", std::chrono::seconds(1));
    if (answer.find("Zookeeper version") != std::string::npos &&
        answer.find("not currently serving") == std::string::npos) {
      return ::testing::AssertionSuccess();
    }
    if (!answer.empty()) last = answer;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // poll interval
  }
  std::string tail = logTail();
  process_.kill();
  return ::testing::AssertionFailure()
         << "ZooKeeper on " << connectString() << " did not serve within " << timeout.count()
         << " ms (last srvr answer: " << last << ")\nlog tail:\n"
         << tail;
}

void ZooKeeperServer::stop() { process_.stop(options_.stop_grace); }

void ZooKeeperServer::kill() { process_.kill(); }

std::string ZooKeeperServer::fourLetterWord(std::string_view word,
                                            std::chrono::milliseconds timeout) const {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return {};
  timeval tv{};
  tv.tv_sec = timeout.count() / 1000;
  tv.tv_usec = (timeout.count() % 1000) * 1000;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port_);
  std::string answer;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::send(fd, word.data(), word.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(word.size())) {
    // The server answers and closes; SO_RCVTIMEO bounds each read, the deadline the whole.
    auto deadline = Clock::now() + timeout;
    char buf[4096];
    while (Clock::now() < deadline) {
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      answer.append(buf, static_cast<size_t>(n));
    }
  }
  ::close(fd);
  return answer;
}

bool ZooKeeperServer::hasSession(int64_t session_id) const {
  // `cons` lists "...,sid=0x<lowercase hex>,lop=..." for each connection.
  std::string needle = fmt::format("sid=0x{:x},", static_cast<uint64_t>(session_id));
  std::string cons = fourLetterWord("cons");
  return cons.find(needle) != std::string::npos;
}

std::string ZooKeeperServer::logTail(size_t max_bytes) const {
  std::string log = dir_.readFile("zookeeper.log");
  if (log.size() > max_bytes) log = "..." + log.substr(log.size() - max_bytes);
  return log;
}

}  // namespace switchyard::support
