#pragma once
// The admin listener: a small HTTP/1.1 server on the control thread (Beast), answering the admin
// API of docs/admin-api.md. Not on the request path, so it favours plainness over speed.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <memory>
#include <string>

#include "common/host_port.h"
#include "common/result.h"
#include "proxy/admin/admin_backend.h"

namespace switchyard::proxy {

class AdminServer {
 public:
  AdminServer(boost::asio::io_context& control, AdminBackend& backend);
  ~AdminServer();

  // Binds (an error says why it could not) and starts accepting.
  Result<boost::asio::ip::tcp::endpoint> start(const HostPort& address);
  // Serves on a listening socket a previous process handed over (listener_takeover.h).
  Result<boost::asio::ip::tcp::endpoint> adopt(int fd);
  // The listening socket's descriptor (to hand over), or -1.
  int nativeHandle() { return acceptor_.is_open() ? acceptor_.native_handle() : -1; }
  void stop();

 private:
  class Session;
  void accept();

  boost::asio::io_context& control_;
  AdminBackend& backend_;
  boost::asio::ip::tcp::acceptor acceptor_;
};

}  // namespace switchyard::proxy
