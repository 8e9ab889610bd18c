#pragma once
// A binary upgrade that refuses and resets no connection: the new process takes the listening
// sockets of the running one over a unix socket (the descriptors themselves, SCM_RIGHTS), as
// HAProxy's `-x` with `expose-fd listeners` and Envoy's hot restart do. A new bind with
// SO_REUSEPORT alone would not do: the connections waiting in the old sockets' accept queues are
// reset when the old process closes them. Here the kernel sockets live on in the new process, so
// what waits in their queues is accepted there.
//
// The exchange, on a stream socket at `switchyard serve --takeover-socket PATH`:
//   new -> old   "TAKEOVER 1\n"
//   old -> new   one line of JSON naming each descriptor ({"kind": "listener"|"admin",
//                "address": "HOST:PORT"}, in order), with the descriptors attached
//   new          binds what the old process did not have, starts its workers
//   new -> old   "READY\n": the old process drains (as on SIGTERM, without taking its backlog:
//                the new process accepts it) and exits
//   new          then offers its own sockets at PATH for the next upgrade.
// A new process that fails before READY leaves the old one serving as if nothing happened.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "common/result.h"

namespace switchyard::proxy {

// A listening socket handed from one process to the next.
struct HandedSocket {
  enum class Kind { kListener, kAdmin };
  Kind kind = Kind::kListener;
  std::string address;  // as configured, HostPort::str(): how the new process matches it
  int fd = -1;          // owned by whoever holds the HandedSocket list (see TakenSockets)
};

// The address family of a listening socket handed over, for adopting it in an acceptor.
boost::asio::ip::tcp protocolOf(int fd);

// The new process's side. Blocking, at start-up only, each step bounded by a timeout.
class TakeoverClient {
 public:
  // Connects to PATH and receives the running gateway's sockets. An error whose `nobody` is true
  // means no gateway answers there (a first start): the caller binds as usual.
  struct Failure {
    bool nobody = false;
    std::string message;
  };
  static std::variant<std::unique_ptr<TakeoverClient>, Failure> connect(
      const std::string& path, std::chrono::milliseconds timeout);
  ~TakeoverClient();

  // The received sockets, not yet claimed (take() removes one; the rest are closed with this).
  std::vector<HandedSocket>& sockets() { return sockets_; }
  // The first unclaimed socket of this kind and address, or -1. The caller owns the fd.
  int take(HandedSocket::Kind kind, const std::string& address);
  // Tells the running gateway to drain: this process serves from now on.
  Result<bool> ready();

 private:
  explicit TakeoverClient(int fd) : fd_(fd) {}
  int fd_;
  std::vector<HandedSocket> sockets_;
  std::chrono::milliseconds timeout_{0};
};

// The running process's side, on the control thread: offers the sockets `offer()` lists to the
// next process and calls `handed_over` once that one said READY.
class TakeoverServer {
 public:
  TakeoverServer(boost::asio::io_context& control, std::string path,
                 std::function<std::vector<HandedSocket>()> offer,
                 std::function<void()> handed_over);
  ~TakeoverServer();
  // Replaces whatever is at PATH (a previous process's socket) with this process's.
  Result<bool> start();
  // Stops offering; removes PATH only while it is still this process's socket.
  void stop();

 private:
  class Session;
  void accept();

  boost::asio::io_context& control_;
  std::string path_;
  std::function<std::vector<HandedSocket>()> offer_;
  std::function<void()> handed_over_;
  boost::asio::local::stream_protocol::acceptor acceptor_;
  unsigned long inode_ = 0;  // PATH's inode when bound: removed at stop only if unchanged
  bool handed_ = false;
};

}  // namespace switchyard::proxy
