#pragma once
// Steady keep-alive HTTP/1.1 load for the ZooKeeper benchmarks: `connections` client threads,
// one keep-alive connection each, every one sending GET / with a fixed Host at rate/connections
// requests per second (paced, not closed loop, so the gateway's control thread keeps its share of
// the 2 cores and the load does not drift with the gateway's speed). A request whose answer is not
// a complete 200 is an error; the connection is then closed and opened again.
// Every request carries `x-bench-client: INDEX.GENERATION` (the generation grows on each
// reconnection): a backend can tell which client connection, hence which gateway worker, sent it.
// Threads: start()/stop() and the figures from the benchmark's thread; the clients run on their
// own.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace switchyard::bench {

struct PacedLoadOptions {
  uint16_t port = 0;
  std::string host = "localhost";  // Host header (the gateway routes on it)
  int connections = 8;
  double rate = 4000;  // requests per second, all connections together
  std::chrono::milliseconds request_timeout{2000};
};

inline constexpr const char* kClientHeader = "x-bench-client";

class PacedLoad {
 public:
  explicit PacedLoad(PacedLoadOptions options);
  ~PacedLoad();  // stop()s
  PacedLoad(const PacedLoad&) = delete;
  PacedLoad& operator=(const PacedLoad&) = delete;

  void start();
  // Stops and joins every client (each finishes its current request, bounded by the timeout).
  void stop();

  uint64_t completed() const { return completed_.load(); }
  uint64_t errors() const { return errors_.load(); }
  // The first few error descriptions ("connect: ...", "status 503", "timeout ..."), for the report.
  std::vector<std::string> errorSamples() const;

  // Asks client `index` to close its connection politely and open a new one (next generation),
  // which the kernel may hand to another worker (SO_REUSEPORT): used to even out the workers.
  void reconnect(int index);
  // The x-bench-client value each client sends now (empty before its first connection).
  std::vector<std::string> currentTags() const;

 private:
  void runClient(int index);
  void recordError(std::string what);

  PacedLoadOptions options_;
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> completed_{0};
  std::atomic<uint64_t> errors_{0};
  mutable std::mutex mutex_;
  std::vector<std::string> samples_;
  std::vector<std::string> tags_;                          // guarded by mutex_
  std::unique_ptr<std::atomic<bool>[]> reconnect_wanted_;  // one per client
  std::vector<std::thread> threads_;
};

}  // namespace switchyard::bench
