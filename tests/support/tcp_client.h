#pragma once
// A raw TCP client for tunnel tests (tcp listeners), and the bounded socket helpers it shares
// with TcpBackend. Every operation has a deadline, so no test can hang on a socket.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace switchyard::support {

using Deadline = std::chrono::steady_clock::time_point;
inline Deadline deadlineIn(std::chrono::milliseconds d) {
  return std::chrono::steady_clock::now() + d;
}

// Waits for `events` (POLLIN, POLLOUT) on a non-blocking fd; false when the deadline came first
// (or `stop`, checked every 50 ms, became true).
bool waitFd(int fd, short events, Deadline deadline, const std::atomic<bool>* stop = nullptr);
// Writes every byte to a non-blocking fd; false on an error, the deadline or `stop`.
bool writeAll(int fd, const char* data, size_t size, Deadline deadline,
              const std::atomic<bool>* stop = nullptr);

class TcpClient {
 public:
  TcpClient() = default;
  ~TcpClient() { close(); }
  TcpClient(const TcpClient&) = delete;
  TcpClient& operator=(const TcpClient&) = delete;

  // Connects to 127.0.0.1:port (TCP_NODELAY), from `source` (any 127.x.y.z) when given.
  bool connect(uint16_t port, const std::string& source = "");
  bool send(std::string_view bytes, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Bytes [0, size) of Checksum's pattern, produced as they are sent (never held whole).
  bool sendPattern(uint64_t size, std::chrono::milliseconds timeout = std::chrono::seconds(60));

  // Reads up to `max` bytes, giving each piece to `sink`, until EOF (or a reset), an error or
  // the deadline. Returns the bytes read; closed() tells whether the peer closed.
  template <class Sink>
  uint64_t read(uint64_t max, std::chrono::milliseconds timeout, Sink&& sink) {
    const auto deadline = deadlineIn(timeout);
    std::vector<char> buf(64 * 1024);
    uint64_t got = 0;
    closed_ = false;
    while (got < max) {
      const long n = readSome(
          buf.data(), static_cast<size_t>(std::min<uint64_t>(buf.size(), max - got)), deadline);
      if (n <= 0) break;
      sink(std::string_view(buf.data(), static_cast<size_t>(n)));
      got += static_cast<uint64_t>(n);
    }
    return got;
  }
  bool closed() const { return closed_; }

  // Exactly n bytes, fewer when the peer closed or the deadline passed.
  std::string readExactly(size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // Sends `message` and reads it back: the tunnel to an echo backend works.
  bool echoes(std::string_view message);
  // True when the peer closes (EOF or reset) before the deadline; bytes read are appended.
  bool waitClosed(std::chrono::milliseconds timeout, std::string* got = nullptr);

  void shutdownWrite();
  void close();

 private:
  // >0 bytes read; 0 when the peer closed (closed_ set), an error or the deadline passed.
  long readSome(char* buf, size_t size, Deadline deadline);

  int fd_ = -1;
  bool closed_ = false;
};

}  // namespace switchyard::support
