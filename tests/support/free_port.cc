#include "tests/support/free_port.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <random>
#include <stdexcept>
#include <string>

namespace switchyard::support {

namespace {

constexpr int kLowestPort = 10000;
constexpr int kAttempts = 2000;

// The first port of the kernel's ephemeral range (bind(0) and outgoing connections use it).
int ephemeralLow() {
  std::ifstream in("/proc/sys/net/ipv4/ip_local_port_range");
  int low = 0;
  if (in >> low && low > kLowestPort + 1000) return low;
  return 32768;
}

// Whether a listener could bind 127.0.0.1:port now.
bool bindable(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

// The descriptor holding the reservation of `port` (its flock is the reservation), or -1 when
// another holder has it.
int reserve(const std::string& dir, uint16_t port) {
  const std::string path = dir + "/" + std::to_string(port);
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
  if (fd < 0) throw std::runtime_error("open " + path + ": " + std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

uint16_t freeLoopbackPort() {
  const std::string dir = "/tmp/switchyard-test-ports";
  ::mkdir(dir.c_str(), 01777);  // EEXIST is fine
  static std::mt19937 random(static_cast<unsigned>(
      std::chrono::steady_clock::now().time_since_epoch().count() ^ (::getpid() << 16)));
  const int high = ephemeralLow() - 1;
  std::uniform_int_distribution<int> pick(kLowestPort, high);
  for (int i = 0; i < kAttempts; ++i) {
    const auto port = static_cast<uint16_t>(pick(random));
    const int held = reserve(dir, port);
    if (held < 0) continue;
    // Kept open until the process exits, on purpose: that is how long the port stays ours.
    if (bindable(port)) return port;
    ::close(held);
  }
  throw std::runtime_error("no free loopback port between " + std::to_string(kLowestPort) +
                           " and " + std::to_string(high));
}

}  // namespace switchyard::support
