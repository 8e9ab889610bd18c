#include "tests/support/tcp_backend.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>

#include "tests/support/tcp_client.h"

namespace switchyard::support {

using namespace std::chrono_literals;

TcpBackend::TcpBackend(TcpMode mode) : mode_(mode) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::listen(fd_, 128) != 0 || ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    if (fd_ >= 0) ::close(fd_);
    throw std::runtime_error("TcpBackend: cannot listen on 127.0.0.1");
  }
  port_ = ntohs(a.sin_port);
  acceptor_ = std::thread([this] { acceptLoop(); });
}

TcpBackend::~TcpBackend() { stop(); }

void TcpBackend::stop() {
  if (stop_.exchange(true)) return;
  acceptor_.join();
  ::close(fd_);
  std::lock_guard lock(mu_);
  for (auto& t : conns_) t.join();
}

void TcpBackend::acceptLoop() {
  while (!stop_) {
    if (!waitFd(fd_, POLLIN, deadlineIn(1h), &stop_)) continue;
    const int c = ::accept4(fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (c < 0) continue;
    int one = 1;
    ::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ++accepted_;
    ++open_;
    std::lock_guard lock(mu_);
    conns_.emplace_back([this, c] {
      serve(c);
      ::close(c);
      --open_;
    });
  }
}

long TcpBackend::readSome(int c, char* buf, size_t size) {
  for (;;) {
    const ssize_t n = ::recv(c, buf, size, 0);
    if (n >= 0) return n;
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return -1;
    if (!waitFd(c, POLLIN, deadlineIn(1h), &stop_)) return -1;
  }
}

void TcpBackend::serve(int c) {
  std::vector<char> buf(64 * 1024);
  uint64_t total = 0;
  if (mode_ == TcpMode::kGreetAndHalfClose) {
    if (!writeAll(c, "hello\n", 6, deadlineIn(10s), &stop_)) return;
    ::shutdown(c, SHUT_WR);
  }
  for (;;) {
    const long n = readSome(c, buf.data(), buf.size());
    if (n < 0) return;
    if (n == 0) break;
    total += static_cast<uint64_t>(n);
    if (mode_ == TcpMode::kEcho &&
        !writeAll(c, buf.data(), static_cast<size_t>(n), deadlineIn(30s), &stop_))
      return;
  }
  if (mode_ == TcpMode::kReplyAfterEof) {
    const std::string reply = "received " + std::to_string(total) + "\n";
    writeAll(c, reply.data(), reply.size(), deadlineIn(10s), &stop_);
  }
  if (mode_ == TcpMode::kGreetAndHalfClose) received_ += total;
  ::shutdown(c, SHUT_WR);
}

}  // namespace switchyard::support
