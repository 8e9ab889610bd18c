#include "proxy/listener_takeover.h"

#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

namespace switchyard::proxy {

namespace asio = boost::asio;
using local = asio::local::stream_protocol;
using boost::system::error_code;

namespace {

constexpr std::string_view kHello = "TAKEOVER 1\n";
constexpr std::string_view kReady = "READY\n";
constexpr std::string_view kDraining = "DRAINING\n";
// SCM_RIGHTS carries at most SCM_MAX_FD (253) descriptors in one message on Linux.
constexpr size_t kMaxSockets = 253;
constexpr size_t kMaxLine = 64 * 1024;

std::string errnoText(int e) { return std::strerror(e); }

const char* kindName(HandedSocket::Kind k) {
  return k == HandedSocket::Kind::kAdmin ? "admin" : "listener";
}

bool writeAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// Reads up to and including '\n' (bounded), keeping every descriptor that arrives with it.
bool readLineWithFds(int fd, std::string& line, std::vector<int>& fds) {
  line.clear();
  while (line.find('\n') == std::string::npos) {
    if (line.size() > kMaxLine) return false;
    char buf[4096];
    iovec iov{buf, sizeof buf};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxSockets)];
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    const ssize_t n = ::recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
      const size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t i = 0; i < count; ++i) {
        int received;
        std::memcpy(&received, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
        fds.push_back(received);
      }
    }
    if (msg.msg_flags & MSG_CTRUNC) return false;  // descriptors were lost: do not use any
    line.append(buf, static_cast<size_t>(n));
  }
  return true;
}

bool isListeningTcp(int fd) {
  int listening = 0, type = 0;
  socklen_t len = sizeof listening;
  if (::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || !listening)
    return false;
  len = sizeof type;
  return ::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 && type == SOCK_STREAM;
}

}  // namespace

boost::asio::ip::tcp protocolOf(int fd) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  return addr.ss_family == AF_INET6 ? boost::asio::ip::tcp::v6() : boost::asio::ip::tcp::v4();
}

// ---------------------------------------------------------------------------------------------
// The new process.

std::variant<std::unique_ptr<TakeoverClient>, TakeoverClient::Failure> TakeoverClient::connect(
    const std::string& path, std::chrono::milliseconds timeout) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return Failure{false, "socket path too long: " + path};
  std::memcpy(addr.sun_path, path.data(), path.size());
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Failure{false, "socket: " + errnoText(errno)};
  std::unique_ptr<TakeoverClient> client(new TakeoverClient(fd));
  client->timeout_ = timeout;
  timeval tv{static_cast<time_t>(timeout.count() / 1000),
             static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    const int e = errno;
    // Nothing there, or a file left by a process that is gone: a first start.
    return Failure{e == ENOENT || e == ECONNREFUSED, path + ": " + errnoText(e)};
  }
  if (!writeAll(fd, kHello)) return Failure{false, "cannot ask: " + errnoText(errno)};
  std::string line;
  std::vector<int> fds;
  const bool read = readLineWithFds(fd, line, fds);
  auto closeAll = [&] {
    for (int f : fds) ::close(f);
  };
  if (!read) {
    closeAll();
    return Failure{false, "no complete answer from the running gateway"};
  }
  auto json = nlohmann::json::parse(line, nullptr, false);
  if (!json.is_array() || json.size() != fds.size()) {
    closeAll();
    return Failure{false, "the running gateway's answer does not describe its " +
                              std::to_string(fds.size()) + " socket(s)"};
  }
  for (size_t i = 0; i < fds.size(); ++i) {
    const auto& j = json[i];
    HandedSocket s;
    s.fd = fds[i];
    s.kind =
        j.value("kind", "") == "admin" ? HandedSocket::Kind::kAdmin : HandedSocket::Kind::kListener;
    s.address = j.value("address", "");
    if (!isListeningTcp(s.fd)) {
      closeAll();
      return Failure{false, "socket " + std::to_string(i) + " is not a listening TCP socket"};
    }
    client->sockets_.push_back(std::move(s));
  }
  return client;
}

TakeoverClient::~TakeoverClient() {
  for (auto& s : sockets_)
    if (s.fd >= 0) ::close(s.fd);
  ::close(fd_);
}

int TakeoverClient::take(HandedSocket::Kind kind, const std::string& address) {
  for (auto& s : sockets_)
    if (s.fd >= 0 && s.kind == kind && s.address == address) return std::exchange(s.fd, -1);
  return -1;
}

Result<bool> TakeoverClient::ready() {
  if (!writeAll(fd_, kReady)) return makeError("cannot tell it: " + errnoText(errno));
  std::string line;
  std::vector<int> none;
  if (!readLineWithFds(fd_, line, none) || line != kDraining)
    return makeError("it did not confirm within " + std::to_string(timeout_.count()) + " ms");
  return true;
}

// ---------------------------------------------------------------------------------------------
// The running process.

class TakeoverServer::Session : public std::enable_shared_from_this<Session> {
 public:
  Session(TakeoverServer& server, local::socket socket)
      : server_(server), socket_(std::move(socket)) {}

  void start() {
    asio::async_read_until(
        socket_, in_, '\n',
        [self = shared_from_this()](error_code ec, size_t n) { self->onHello(ec, n); });
  }

 private:
  std::string takeLine(size_t n) {
    std::string line(asio::buffers_begin(in_.data()), asio::buffers_begin(in_.data()) + n);
    in_.consume(n);
    return line;
  }

  void onHello(error_code ec, size_t n) {
    if (ec) return;
    if (takeLine(n) != kHello || server_.handed_) return;  // not ours, or done already
    const auto offered = server_.offer_();
    if (offered.size() > kMaxSockets) {
      spdlog::error("takeover: {} sockets to hand over, more than {} in one message",
                    offered.size(), kMaxSockets);
      return;
    }
    nlohmann::json list = nlohmann::json::array();
    std::vector<int> fds;
    for (const auto& s : offered) {
      list.push_back({{"kind", kindName(s.kind)}, {"address", s.address}});
      fds.push_back(s.fd);
    }
    const std::string text = list.dump() + "\n";
    // One message with every descriptor attached to its first byte; the rest of a long line
    // follows as plain bytes. Small: the unix socket's buffer takes it without blocking.
    iovec iov{const_cast<char*>(text.data()), text.size()};
    std::vector<char> control(CMSG_SPACE(sizeof(int) * std::max<size_t>(fds.size(), 1)));
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    if (!fds.empty()) {
      msg.msg_control = control.data();
      msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
      cmsghdr* c = CMSG_FIRSTHDR(&msg);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
      std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
    }
    const ssize_t sent = ::sendmsg(socket_.native_handle(), &msg, MSG_NOSIGNAL);
    if (sent < 0) {
      spdlog::warn("takeover: sending the sockets failed: {}", errnoText(errno));
      return;
    }
    if (static_cast<size_t>(sent) < text.size() &&
        !writeAll(socket_.native_handle(),
                  std::string_view(text).substr(static_cast<size_t>(sent)))) {
      spdlog::warn("takeover: sending the socket list failed: {}", errnoText(errno));
      return;
    }
    spdlog::info("takeover: {} socket(s) sent to a new process; serving until it is ready",
                 fds.size());
    asio::async_read_until(
        socket_, in_, '\n',
        [self = shared_from_this()](error_code ec, size_t n) { self->onReady(ec, n); });
  }

  void onReady(error_code ec, size_t n) {
    if (ec || takeLine(n) != kReady) {
      // It failed before serving: this process goes on as if nothing happened.
      spdlog::warn("takeover: the new process went away before it was ready; still serving");
      return;
    }
    if (server_.handed_) return;
    server_.handed_ = true;
    error_code ignored;
    asio::write(socket_, asio::buffer(kDraining), ignored);
    server_.handed_over_();
  }

  TakeoverServer& server_;
  local::socket socket_;
  asio::streambuf in_{kMaxLine};
};

TakeoverServer::TakeoverServer(asio::io_context& control, std::string path,
                               std::function<std::vector<HandedSocket>()> offer,
                               std::function<void()> handed_over)
    : control_(control),
      path_(std::move(path)),
      offer_(std::move(offer)),
      handed_over_(std::move(handed_over)),
      acceptor_(control) {}

TakeoverServer::~TakeoverServer() { stop(); }

Result<bool> TakeoverServer::start() {
  // The previous process's socket (it has handed over, or is gone) makes way for this one's.
  ::unlink(path_.c_str());
  error_code ec;
  local::endpoint ep(path_);
  acceptor_.open(ep.protocol(), ec);
  if (!ec) acceptor_.bind(ep, ec);
  if (!ec) acceptor_.listen(4, ec);
  if (ec) return makeError("takeover socket " + path_ + ": " + ec.message());
  // Only the owner (root or the service's user) may take the sockets over.
  ::chmod(path_.c_str(), 0600);
  struct stat st {};
  if (::stat(path_.c_str(), &st) == 0) inode_ = st.st_ino;
  accept();
  return true;
}

void TakeoverServer::accept() {
  acceptor_.async_accept([this](error_code ec, local::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
    if (!ec) std::make_shared<Session>(*this, std::move(socket))->start();
    accept();
  });
}

void TakeoverServer::stop() {
  if (!acceptor_.is_open()) return;
  error_code ignored;
  acceptor_.close(ignored);
  struct stat st {};
  // The next process may have replaced PATH with its own socket already: leave that one.
  if (::stat(path_.c_str(), &st) == 0 && st.st_ino == inode_) ::unlink(path_.c_str());
}

}  // namespace switchyard::proxy
