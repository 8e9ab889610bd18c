#pragma once
// A TLS client for tests that need more than curl gives: one connection held open across a
// gateway reload, the certificate the server presented (its serial), the protocol ALPN chose,
// several requests on one connection. Blocking, with a deadline on every operation (socket
// timeouts), so a test never hangs on a misbehaving server. One thread.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace switchyard::support {

class TlsTestClient {
 public:
  TlsTestClient();
  ~TlsTestClient();
  TlsTestClient(const TlsTestClient&) = delete;
  TlsTestClient& operator=(const TlsTestClient&) = delete;

  // Connects to 127.0.0.1:port and makes the handshake, verifying the server's certificate
  // against `ca_file` for `server_name` (also sent as SNI); `alpn` is offered when not empty.
  // False with lastError() on failure.
  bool connect(uint16_t port, const std::string& ca_file, const std::string& server_name,
               const std::vector<std::string>& alpn = {"http/1.1"},
               std::chrono::milliseconds timeout = std::chrono::seconds(5));
  std::string serial() const;  // the server certificate's serial, upper-case hex
  std::string alpn() const;    // "" when none was selected
  bool sessionReused() const;
  // Before connect(): offer `other`'s session (after a request on it, so that a TLS 1.3
  // server's tickets have been read) for resumption.
  void resumeFrom(const TlsTestClient& other);

  // Sends `request` and reads one response with a Content-Length body; returns the whole
  // response text (head and body), or "" with lastError() on failure.
  std::string roundTrip(const std::string& request);
  // Reads until the server ends the connection: true when it sent close_notify (a clean TLS
  // close), false (with lastError()) when the TCP connection ended without it, or on a timeout.
  bool readUntilCloseNotify();
  const std::string& lastError() const { return error_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string error_;
};

}  // namespace switchyard::support
