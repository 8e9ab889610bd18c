#pragma once
// A raw HTTP/1.1 backend for the HTTP/2 tests: every request (head only, no body) on a
// keep-alive connection is answered with the same bytes, written as given. It serves what
// TestBackend does not write, such as a chunked response with trailers (gRPC-like). Listens on
// 127.0.0.1:0 and serves on its own thread until destroyed.

#include <cstdint>
#include <memory>
#include <string>

namespace switchyard::support {

class H2RawBackend {
 public:
  explicit H2RawBackend(std::string response);
  ~H2RawBackend();
  H2RawBackend(const H2RawBackend&) = delete;
  H2RawBackend& operator=(const H2RawBackend&) = delete;

  uint16_t port() const;
  std::string address() const;  // "127.0.0.1:PORT"
  uint64_t requestCount() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace switchyard::support
