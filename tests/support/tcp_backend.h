#pragma once
// A raw TCP backend for tunnel tests (tcp listeners): it listens on 127.0.0.1:0 and serves each
// connection on a thread of its own in one of a few modes. Every wait is bounded and stop() (or
// the destructor) ends every thread.

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace switchyard::support {

enum class TcpMode {
  kEcho,               // echoes; on EOF shuts its send side down and closes
  kReplyAfterEof,      // reads until EOF, then answers "received N\n" and closes
  kGreetAndHalfClose,  // sends "hello\n", shuts its send side down, counts what it still gets
};

class TcpBackend {
 public:
  // Throws std::runtime_error when it cannot listen.
  explicit TcpBackend(TcpMode mode = TcpMode::kEcho);
  ~TcpBackend();
  TcpBackend(const TcpBackend&) = delete;
  TcpBackend& operator=(const TcpBackend&) = delete;

  uint16_t port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  size_t accepted() const { return accepted_.load(); }
  int open() const { return open_.load(); }
  // kGreetAndHalfClose: bytes received after the half-close, over finished connections.
  uint64_t receivedAfterHalfClose() const { return received_.load(); }

  void stop();

 private:
  void acceptLoop();
  void serve(int fd);
  long readSome(int fd, char* buf, size_t size);

  const TcpMode mode_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<size_t> accepted_{0};
  std::atomic<int> open_{0};
  std::atomic<uint64_t> received_{0};
  std::thread acceptor_;
  std::mutex mu_;
  std::vector<std::thread> conns_;
};

}  // namespace switchyard::support
