#pragma once
// The access log, kept off the request path: each worker formats records into its own buffer
// and hands whole buffers to one writer thread, at most every few milliseconds or 64 KiB.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "config/config.h"

namespace switchyard::proxy {

struct AccessRecord {
  std::string_view listener;
  std::string_view client_ip;
  std::string_view method;
  std::string_view target;
  std::string_view cluster;
  std::string_view upstream;  // instance id, empty when none was tried
  std::string_view error;     // x-switchyard-error cause, empty when none
  unsigned status = 0;        // 0 = no response sent
  uint64_t bytes_sent = 0;
  uint64_t duration_us = 0;
  int version = 11;
  // A tunnel of a tcp listener: no method, target or status; bytes both ways.
  bool tunnel = false;
  uint64_t bytes_received = 0;  // from the client (tunnels)
};

class AccessLogSink {
 public:
  // path "-" = stdout.
  AccessLogSink(const std::string& path, config::AccessLogFormat format);
  ~AccessLogSink();
  config::AccessLogFormat format() const { return format_; }
  bool ok() const { return file_ != nullptr; }
  // Any thread.
  void write(std::string chunk);

 private:
  void run();
  config::AccessLogFormat format_;
  FILE* file_ = nullptr;
  bool owns_file_ = false;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;
  bool stop_ = false;
  std::thread thread_;
};

class AccessLogBuffer {
 public:
  explicit AccessLogBuffer(AccessLogSink& sink) : sink_(sink) { buf_.reserve(kFlushBytes); }
  void append(const AccessRecord& r);
  void flush();

 private:
  static constexpr size_t kFlushBytes = 64 * 1024;
  void appendTunnel(const AccessRecord& r, std::chrono::system_clock::time_point now);
  AccessLogSink& sink_;
  std::string buf_;
};

}  // namespace switchyard::proxy
