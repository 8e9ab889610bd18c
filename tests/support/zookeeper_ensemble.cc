#include "tests/support/zookeeper_ensemble.h"

#include <dirent.h>
#include <unistd.h>

#include <fstream>
#include <set>
#include <sstream>

#include "tests/support/free_port.h"

namespace switchyard::support {

namespace {

// Inodes of the sockets process pid holds ("socket:[12345]" links under /proc/PID/fd).
std::set<unsigned long> socketInodes(pid_t pid) {
  std::set<unsigned long> inodes;
  std::string fd_dir = "/proc/" + std::to_string(pid) + "/fd";
  DIR* dir = ::opendir(fd_dir.c_str());
  if (!dir) return inodes;
  while (dirent* entry = ::readdir(dir)) {
    char target[64];
    std::string link = fd_dir + "/" + entry->d_name;
    ssize_t n = ::readlink(link.c_str(), target, sizeof target - 1);
    if (n <= 0) continue;
    target[n] = '\0';
    unsigned long inode = 0;
    if (std::sscanf(target, "socket:[%lu]", &inode) == 1) inodes.insert(inode);
  }
  ::closedir(dir);
  return inodes;
}

}  // namespace

ZooKeeperEnsemble::ZooKeeperEnsemble(size_t size, ZooKeeperServerOptions options) {
  std::vector<ZooKeeperPeer> peers;
  for (size_t i = 0; i < size; ++i) {
    peers.push_back(ZooKeeperPeer{static_cast<int>(i + 1), freeLoopbackPort(), freeLoopbackPort(),
                                  freeLoopbackPort()});
  }
  for (const auto& p : peers) {
    servers_.push_back(std::make_unique<ZooKeeperServer>(p.id, peers, options));
  }
}

::testing::AssertionResult ZooKeeperEnsemble::start() {
  for (auto& s : servers_) {
    if (auto r = s->spawn(); !r) return r;
  }
  for (size_t i = 0; i < servers_.size(); ++i) {
    if (auto r = servers_[i]->waitServing(std::chrono::seconds(30)); !r) {
      return r << "\n(ensemble member " << i << ")";
    }
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult ZooKeeperEnsemble::start(size_t i) {
  return servers_.at(i)->start() << "\n(ensemble member " << i << ")";
}

std::string ZooKeeperEnsemble::connectString() const {
  std::string out;
  for (const auto& s : servers_) {
    if (!out.empty()) out += ",";
    out += s->connectString();
  }
  return out;
}

std::optional<size_t> ZooKeeperEnsemble::indexOf(std::string_view host_port) const {
  for (size_t i = 0; i < servers_.size(); ++i) {
    if (servers_[i]->connectString() == host_port) return i;
  }
  return std::nullopt;
}

std::optional<size_t> ZooKeeperEnsemble::serverWithSession(int64_t session_id) const {
  for (size_t i = 0; i < servers_.size(); ++i) {
    if (servers_[i]->hasSession(session_id)) return i;
  }
  return std::nullopt;
}

std::optional<size_t> ZooKeeperEnsemble::serverConnectedFrom(pid_t pid) const {
  std::set<unsigned long> inodes = socketInodes(pid);
  // /proc/PID/net/tcp lists the sockets of pid's network namespace:
  //   sl local_address rem_address st tx:rx tr:tm retrnsmt uid timeout inode ...
  // with addresses as HEXIP:HEXPORT; state 01 is ESTABLISHED.
  std::ifstream in("/proc/" + std::to_string(pid) + "/net/tcp");
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string sl, local, remote, state, txrx, trtm, retr, uid, timeout;
    unsigned long inode = 0;
    if (!(fields >> sl >> local >> remote >> state >> txrx >> trtm >> retr >> uid >> timeout >>
          inode)) {
      continue;
    }
    if (state != "01" || !inodes.count(inode)) continue;
    size_t colon = remote.find(':');
    if (colon == std::string::npos) continue;
    unsigned long port = std::stoul(remote.substr(colon + 1), nullptr, 16);
    for (size_t i = 0; i < servers_.size(); ++i) {
      if (servers_[i]->port() == port) return i;
    }
  }
  return std::nullopt;
}

}  // namespace switchyard::support
