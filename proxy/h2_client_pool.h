#pragma once
// The HTTP/2 connections of one upstream instance on one worker (clusters with protocol h2c or
// h2). Worker thread only; owned by the instance's UpstreamHost.
//
// A request takes a stream on the connection with the most room that still accepts streams
// (open or connecting, no GOAWAY, below the server's MAX_CONCURRENT_STREAMS); when none has
// room a new connection is opened, up to max_connections_per_instance. A departed instance's
// connections go away: no new streams, each closes when its last stream ends (the session's
// drain deadline cuts what is left). Connections idle longer than the cluster's idle timeout
// are closed by the worker's periodic upkeep, and every idle one when the gateway shuts down:
// with GOAWAY(NO_ERROR) first in both cases.

#include <boost/asio/io_context.hpp>
#include <memory>
#include <vector>

#include "proxy/h2_client_connection.h"

namespace switchyard::proxy {

class UpstreamHost;

class H2ClientPool {
 public:
  H2ClientPool(boost::asio::io_context& ctx, UpstreamHost& host);
  ~H2ClientPool();  // closes every connection (their open streams fail)
  H2ClientPool(const H2ClientPool&) = delete;
  H2ClientPool& operator=(const H2ClientPool&) = delete;

  // A connection with room for one more stream, opening one when needed; null when the
  // instance is at max_connections_per_instance with every connection full (or departed).
  std::shared_ptr<H2ClientConnection> acquire(const H2ClientConnection::Options& options);

  // The instance left its set: no new streams on any connection.
  void depart();
  // Parts (GOAWAY, then close) with connections with no stream since before `cutoff`.
  void closeIdleBefore(TimePoint cutoff);
  std::size_t size() const { return conns_.size(); }

 private:
  void forget(H2ClientConnection* conn);

  boost::asio::io_context& ctx_;
  UpstreamHost& host_;
  std::vector<std::shared_ptr<H2ClientConnection>> conns_;
  uint32_t known_max_streams_ = 0;  // the instance's MAX_CONCURRENT_STREAMS, once seen
  // Cleared by the destructor so that late close callbacks of connections still referenced
  // elsewhere do not reach a destroyed pool.
  std::shared_ptr<H2ClientPool*> alive_;
};

}  // namespace switchyard::proxy
