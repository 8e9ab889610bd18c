#pragma once
// One HTTP/1.1 GET with a deadline, on an io_context the caller owns (Boost.Beast): resolve,
// connect, send `GET path` with `Connection: close`, read the response head, close. The answer is
// the status code or an error, nothing else. `switchyard announce --health-url` uses it; the
// gateway's active health checks use proxy/health_probe_session.h (the cluster's protocol: TLS,
// HTTP/2), which shares HealthOutcome and healthGetRequest with it.
//
// Plain http:// only: no TLS.

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"

namespace switchyard::discovery {

struct HealthTarget {
  std::string host;  // a name or an address (IPv6 without brackets)
  uint16_t port = 80;
  std::string path = "/";  // the request target, query included

  // "http://host[:port][/path]"; "[v6]" hosts in brackets. Rejects other schemes (https
  // included: not supported), user info, fragments, empty hosts and bad ports.
  static Result<HealthTarget> parseUrl(std::string_view url);
  std::string url() const;  // back to "http://host:port/path"
};

struct HealthOutcome {
  int status = 0;     // the response's status code, 0 when there was none
  std::string error;  // why there was no response ("connect: Connection refused", "timed out")

  bool answered() const { return status != 0; }
  bool healthy() const { return status >= 200 && status < 300; }
  // "200", "503", or the error.
  std::string str() const;
};

// The probe's request bytes: `GET path HTTP/1.1` with Host `authority`, a user-agent and
// `Connection: close` (shared with the gateway's health probes, proxy/health_probe_http1).
std::string healthGetRequest(std::string_view authority, std::string_view path);

class HealthProbe {
 public:
  using Callback = std::function<void(HealthOutcome outcome)>;

  explicit HealthProbe(boost::asio::io_context& io);
  // Cancels a pending GET; its callback is never called.
  ~HealthProbe();
  HealthProbe(const HealthProbe&) = delete;
  HealthProbe& operator=(const HealthProbe&) = delete;

  // The io_context's thread. Calls `done` exactly once on that thread, always asynchronously,
  // within about `timeout` (which covers the whole exchange, name lookup included). One GET at a
  // time: a new get() cancels the pending one, whose callback is then never called.
  void get(const HealthTarget& target, std::chrono::milliseconds timeout, Callback done);

  // Drops the pending GET, if any, without calling it back.
  void cancel();

 private:
  struct Exchange;

  boost::asio::io_context& io_;
  std::shared_ptr<Exchange> pending_;
};

}  // namespace switchyard::discovery
