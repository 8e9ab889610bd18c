#include "tests/support/tcp_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "tests/support/checksum.h"

namespace switchyard::support {

namespace {

int msLeft(Deadline deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  return left.count() < 0 ? 0 : static_cast<int>(std::min<int64_t>(left.count(), 1 << 30));
}

}  // namespace

bool waitFd(int fd, short events, Deadline deadline, const std::atomic<bool>* stop) {
  for (;;) {
    if (stop && stop->load()) return false;
    pollfd p{fd, events, 0};
    const int left = msLeft(deadline);
    const int r = ::poll(&p, 1, stop ? std::min(left, 50) : left);
    if (r > 0) return true;
    if (r < 0 && errno != EINTR) return false;
    if (left == 0) return false;
  }
}

bool writeAll(int fd, const char* data, size_t size, Deadline deadline,
              const std::atomic<bool>* stop) {
  while (size > 0) {
    const ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
    if (n > 0) {
      data += n;
      size -= static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!waitFd(fd, POLLOUT, deadline, stop)) return false;
      continue;
    }
    return false;
  }
  return true;
}

bool TcpClient::connect(uint16_t port, const std::string& source) {
  close();
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return false;
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (!source.empty()) {
    sockaddr_in s{};
    s.sin_family = AF_INET;
    if (::inet_pton(AF_INET, source.c_str(), &s.sin_addr) != 1 ||
        ::bind(fd_, reinterpret_cast<sockaddr*>(&s), sizeof s) != 0)
      return false;
  }
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) return true;
  if (errno != EINPROGRESS || !waitFd(fd_, POLLOUT, deadlineIn(std::chrono::seconds(3))))
    return false;
  int err = 0;
  socklen_t len = sizeof err;
  ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
  return err == 0;
}

bool TcpClient::send(std::string_view bytes, std::chrono::milliseconds timeout) {
  return fd_ >= 0 && writeAll(fd_, bytes.data(), bytes.size(), deadlineIn(timeout));
}

bool TcpClient::sendPattern(uint64_t size, std::chrono::milliseconds timeout) {
  const auto deadline = deadlineIn(timeout);
  // Not a power of two, so that pieces fall differently on every hop's buffers.
  std::vector<char> buf(61 * 1024);
  for (uint64_t off = 0; off < size;) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(buf.size(), size - off));
    Checksum::fillPattern(buf.data(), off, n);
    if (!writeAll(fd_, buf.data(), n, deadline)) return false;
    off += n;
  }
  return true;
}

long TcpClient::readSome(char* buf, size_t size, Deadline deadline) {
  if (fd_ < 0) return 0;
  for (;;) {
    const ssize_t n = ::recv(fd_, buf, size, 0);
    if (n > 0) return n;
    if (n == 0) {
      closed_ = true;
      return 0;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      closed_ = true;  // a reset closes too
      return 0;
    }
    if (!waitFd(fd_, POLLIN, deadline)) return 0;
  }
}

std::string TcpClient::readExactly(size_t n, std::chrono::milliseconds timeout) {
  std::string out;
  read(n, timeout, [&](std::string_view s) { out.append(s); });
  return out;
}

bool TcpClient::echoes(std::string_view message) {
  return send(message) && readExactly(message.size()) == message;
}

bool TcpClient::waitClosed(std::chrono::milliseconds timeout, std::string* got) {
  read(UINT64_MAX, timeout, [&](std::string_view s) {
    if (got) got->append(s);
  });
  return closed_;
}

void TcpClient::shutdownWrite() {
  if (fd_ >= 0) ::shutdown(fd_, SHUT_WR);
}

void TcpClient::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

}  // namespace switchyard::support
