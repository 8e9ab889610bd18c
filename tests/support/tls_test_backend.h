#pragma once
// A small HTTP/1.1-over-TLS backend for upstream TLS tests: it listens on 127.0.0.1:0 with the
// certificate it is given, answers every request with 200 "hello from NAME" (header x-backend:
// NAME, keep-alive; a request body is read and dropped; setStatus() changes the status of one
// path), and records handshakes, requests and the SNI name of the last handshake. Serves on its own
// thread; public methods from any thread.

#include <cstdint>
#include <memory>
#include <string>

#include "tests/support/test_ca.h"

namespace switchyard::support {

class TlsTestBackend {
 public:
  TlsTestBackend(std::string name, const TestCertificate& certificate);
  ~TlsTestBackend();  // stop()s
  TlsTestBackend(const TlsTestBackend&) = delete;
  TlsTestBackend& operator=(const TlsTestBackend&) = delete;

  uint16_t port() const;
  std::string address() const;  // "127.0.0.1:PORT"
  uint64_t handshakes() const;  // completed
  uint64_t requests() const;
  std::string lastServerName() const;  // SNI of the last completed handshake; "" without SNI
  std::string lastRequestHead() const;
  // Requests whose target is exactly `path` answer `status` from now on (200 by default).
  void setStatus(const std::string& path, int status);
  uint64_t requestsFor(const std::string& path) const;  // answered so far

  void stop();  // closes everything and joins the thread; idempotent

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace switchyard::support
