#include "proxy/access_log.h"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <chrono>

namespace switchyard::proxy {

namespace {

void appendJsonString(std::string& out, std::string_view s) {
  out.push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"': out.append("\\\""); break;
      case '\\': out.append("\\\\"); break;
      case '\n': out.append("\\n"); break;
      case '\r': out.append("\\r"); break;
      case '\t': out.append("\\t"); break;
      default:
        if (c < 0x20 || c >= 0x7f)
          fmt::format_to(std::back_inserter(out), "\\u{:04x}", c);
        else
          out.push_back(static_cast<char>(c));
    }
  }
  out.push_back('"');
}

}  // namespace

AccessLogSink::AccessLogSink(const std::string& path, config::AccessLogFormat format)
    : format_(format) {
  if (path == "-") {
    file_ = stdout;
  } else {
    file_ = std::fopen(path.c_str(), "a");
    owns_file_ = true;
  }
  thread_ = std::thread([this] { run(); });
}

AccessLogSink::~AccessLogSink() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  thread_.join();
  if (owns_file_ && file_) std::fclose(file_);
}

void AccessLogSink::write(std::string chunk) {
  {
    std::lock_guard lock(mu_);
    queue_.push_back(std::move(chunk));
  }
  cv_.notify_one();
}

void AccessLogSink::run() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
    while (!queue_.empty()) {
      std::string chunk = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      if (file_) {
        std::fwrite(chunk.data(), 1, chunk.size(), file_);
        std::fflush(file_);
      }
      lock.lock();
    }
    if (stop_) return;
  }
}

void AccessLogBuffer::append(const AccessRecord& r) {
  const auto now = std::chrono::system_clock::now();
  if (r.tunnel) return appendTunnel(r, now);
  if (sink_.format() == config::AccessLogFormat::kJson) {
    fmt::format_to(std::back_inserter(buf_), "{{\"time\":\"{:%FT%T}Z\",\"listener\":",
                   std::chrono::time_point_cast<std::chrono::milliseconds>(now));
    appendJsonString(buf_, r.listener);
    buf_.append(",\"client\":");
    appendJsonString(buf_, r.client_ip);
    buf_.append(",\"method\":");
    appendJsonString(buf_, r.method);
    buf_.append(",\"target\":");
    appendJsonString(buf_, r.target);
    fmt::format_to(std::back_inserter(buf_), ",\"protocol\":\"HTTP/{}.{}\",\"status\":{},", r.version / 10, r.version % 10,
                   r.status);
    buf_.append("\"cluster\":");
    appendJsonString(buf_, r.cluster);
    buf_.append(",\"upstream\":");
    appendJsonString(buf_, r.upstream);
    fmt::format_to(std::back_inserter(buf_), ",\"bytes_sent\":{},\"duration_ms\":{:.3f}",
                   r.bytes_sent, static_cast<double>(r.duration_us) / 1000.0);
    if (!r.error.empty()) {
      buf_.append(",\"error\":");
      appendJsonString(buf_, r.error);
    }
    buf_.append("}\n");
  } else {
    fmt::format_to(std::back_inserter(buf_), "{:%FT%T}Z {} {} \"{} {} HTTP/{}.{}\" {} {} {} {} {:.3f}ms{}{}\n",
                   std::chrono::time_point_cast<std::chrono::milliseconds>(now), r.listener,
                   r.client_ip, r.method, r.target, r.version / 10, r.version % 10, r.status, r.bytes_sent,
                   r.cluster.empty() ? "-" : r.cluster, r.upstream.empty() ? "-" : r.upstream,
                   static_cast<double>(r.duration_us) / 1000.0, r.error.empty() ? "" : " error=",
                   r.error);
  }
  if (buf_.size() >= kFlushBytes) flush();
}

void AccessLogBuffer::appendTunnel(const AccessRecord& r,
                                   std::chrono::system_clock::time_point now) {
  const auto ms = std::chrono::time_point_cast<std::chrono::milliseconds>(now);
  const double duration_ms = static_cast<double>(r.duration_us) / 1000.0;
  if (sink_.format() == config::AccessLogFormat::kJson) {
    fmt::format_to(std::back_inserter(buf_), "{{\"time\":\"{:%FT%T}Z\",\"listener\":", ms);
    appendJsonString(buf_, r.listener);
    buf_.append(",\"client\":");
    appendJsonString(buf_, r.client_ip);
    buf_.append(",\"protocol\":\"TCP\",\"cluster\":");
    appendJsonString(buf_, r.cluster);
    buf_.append(",\"upstream\":");
    appendJsonString(buf_, r.upstream);
    fmt::format_to(std::back_inserter(buf_),
                   ",\"bytes_sent\":{},\"bytes_received\":{},\"duration_ms\":{:.3f}",
                   r.bytes_sent, r.bytes_received, duration_ms);
    if (!r.error.empty()) {
      buf_.append(",\"error\":");
      appendJsonString(buf_, r.error);
    }
    buf_.append("}\n");
  } else {
    fmt::format_to(std::back_inserter(buf_), "{:%FT%T}Z {} {} TCP {} {} {} {} {:.3f}ms{}{}\n", ms,
                   r.listener, r.client_ip, r.bytes_sent, r.bytes_received,
                   r.cluster.empty() ? "-" : r.cluster, r.upstream.empty() ? "-" : r.upstream,
                   duration_ms, r.error.empty() ? "" : " error=", r.error);
  }
  if (buf_.size() >= kFlushBytes) flush();
}

void AccessLogBuffer::flush() {
  if (buf_.empty()) return;
  std::string out;
  out.reserve(kFlushBytes);
  out.swap(buf_);
  sink_.write(std::move(out));
}

}  // namespace switchyard::proxy
