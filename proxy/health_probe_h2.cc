#include "proxy/health_probe_h2.h"

#include <fmt/format.h>

#include <boost/asio/post.hpp>

namespace switchyard::proxy {

namespace asio = boost::asio;
using boost::system::error_code;

HealthProbeH2::HealthProbeH2(asio::io_context& io)
    : io_(io), timer_(io), alive_(std::make_shared<HealthProbeH2*>(this)) {}

HealthProbeH2::~HealthProbeH2() {
  *alive_ = nullptr;
  cancel();
  dropConnection();
}

void HealthProbeH2::get(const ProbeTarget& target, std::chrono::milliseconds timeout,
                        Callback done) {
  cancel();
  done_ = std::move(done);
  status_ = 0;
  timer_.expires_after(timeout);
  // The expiry may already be queued when the probe is cancelled or destroyed: it checks both.
  timer_.async_wait([alive = std::weak_ptr<HealthProbeH2*>(alive_), generation = generation_,
                     timeout](error_code ec) {
    auto probe = alive.lock();
    if (ec || !probe || !*probe || (*probe)->generation_ != generation) return;
    (*probe)->finish({0, fmt::format("timed out after {} ms", timeout.count())});
  });
  if (!target.unusable.empty()) return finish({0, target.unusable});
  stream_ = connectionFor(target, timeout).submit(target.h2Request(), false, this);
  if (stream_ == 0) finish({0, "HTTP/2: the new connection refused the stream"});
}

void HealthProbeH2::cancel() {
  ++generation_;
  done_ = nullptr;
  timer_.cancel();
  if (stream_ != 0 && conn_) conn_->cancel(stream_);
  stream_ = 0;
}

H2ClientConnection& HealthProbeH2::connectionFor(const ProbeTarget& target,
                                                 std::chrono::milliseconds timeout) {
  if (conn_ &&
      (!conn_->canOpenStream() || conn_address_ != target.address || conn_tls_ != target.tls))
    dropConnection();
  if (!conn_) {
    H2ClientConnection::Options options;
    options.connect_timeout_ms = static_cast<uint32_t>(timeout.count());
    options.tls = target.tls;
    conn_ = std::make_shared<H2ClientConnection>(target.stream(io_), target.address,
                                                 std::move(options));
    conn_address_ = target.address;
    conn_tls_ = target.tls;
    ++connections_;
    conn_->connect();
  }
  return *conn_;
}

void HealthProbeH2::finish(discovery::HealthOutcome outcome) {
  if (!done_) return;
  timer_.cancel();
  if (stream_ != 0 && conn_) conn_->cancel(stream_);
  stream_ = 0;
  if (!outcome.answered()) dropConnection();
  asio::post(io_, [alive = std::weak_ptr<HealthProbeH2*>(alive_), generation = generation_,
                   done = std::exchange(done_, nullptr), outcome = std::move(outcome)]() mutable {
    auto probe = alive.lock();
    if (!probe || !*probe || (*probe)->generation_ != generation) return;
    done(std::move(outcome));
  });
}

void HealthProbeH2::dropConnection() {
  auto conn = std::move(conn_);
  conn_tls_ = nullptr;
  // Inside the connection's own failure this is a no-op; it keeps itself alive meanwhile.
  if (conn) conn->close("health probe gave the connection up");
}

void HealthProbeH2::onH2Head(unsigned status, const H2Headers&, bool) {
  if (status >= 200) status_ = status;
}

void HealthProbeH2::onH2Data(std::string_view data) {
  // The body is dropped: reopen its window at once.
  if (stream_ != 0 && conn_) conn_->consume(stream_, data.size());
}

void HealthProbeH2::onH2End() {
  stream_ = 0;
  finish({static_cast<int>(status_), {}});
}

void HealthProbeH2::onH2Fail(H2Failure failure, uint32_t code, std::string_view detail) {
  stream_ = 0;
  std::string why = fmt::format("HTTP/2 {}: {}", toString(failure), detail);
  if (code != 0) why += fmt::format(" (error code {})", code);
  finish({0, std::move(why)});
}

}  // namespace switchyard::proxy
