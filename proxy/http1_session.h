#pragma once
// One client connection speaking HTTP/1.1, on one worker, for its whole life: it reads and
// parses requests, answers the bad ones itself (400, 408, 413, 431), and hands each good one to
// its Http1Exchange, which relays it through an UpstreamRequest (routing, retries, the budget,
// outlier detection, deadlines, accounting and the access-log line are those of every client)
// and writes the response back. Requests on a connection are answered one at a time, in order
// (pipelined requests wait in the input buffer). A connection that opens with the HTTP/2 client
// preface goes to an H2ServerSession; one whose request the instance upgraded (101) becomes a
// byte tunnel.
//
// Every step has a deadline, enforced by the worker's tick rather than a timer per operation.
//
// States (State below) and their transitions:
//   kIdle --bytes--> kReadingHead --head--> kExchanging (the exchange has the connection)
//   kExchanging --done, keep-alive--> kIdle | --101--> kTunnel | --done, close--> kClosing
//   kReadingHead/kExchanging --our own error answer--> kWritingError --> kIdle or kClosing
//   kTunnel --both directions closed, idle timeout, the instance's drain deadline--> kClosed
//   kClosing (lingering close) --client closed or linger deadline--> kClosed
//
// Tunnel (after 101 Switching Protocols): bytes flow both ways; the end of one direction is
// passed on as a half-close (TCP FIN, or TLS close_notify) and the tunnel ends when both have
// ended. A tunnel to an instance that left its set, or whose weight became 0 (an operator's
// drain), is closed once the cluster's drain_timeout_ms has passed since (as TcpSession does
// for TCP listeners).

#include <boost/beast/core/flat_buffer.hpp>
#include <list>
#include <memory>
#include <optional>
#include <string>

#include "common/time_source.h"
#include "config/config.h"
#include "proxy/client_stream.h"
#include "proxy/downstream_session.h"
#include "proxy/http1_exchange.h"
#include "proxy/http1_parser.h"
#include "proxy/upstream_request.h"

namespace switchyard::proxy {

class Worker;
struct ListenerStats;

class Http1Session final : public DownstreamSession,
                           public std::enable_shared_from_this<Http1Session> {
 public:
  // `stream` is the accepted connection, plain or TLS (handshake done).
  Http1Session(Worker& worker, uint32_t listener_index, ClientStream stream);
  ~Http1Session();

  void start();
  // The gateway drains: an idle connection closes now, a busy one after its response.
  void drain() override;
  // The worker's tick: acts when the current step's deadline has passed.
  void checkDeadline(TimePoint now) override;
  // Closes both sides at once.
  void abort() override;

 private:
  enum class State {
    kIdle,          // keep-alive: waiting for the first byte of a request
    kReadingHead,   // part of a request head has arrived
    kExchanging,    // exchange_ relays the request and its response
    kWritingError,  // the gateway's own answer is being written
    kTunnel,        // after 101 Switching Protocols: bytes both ways
    kClosing,       // lingering close: our side is shut, unread client bytes are discarded
    kClosed,
  };

  const config::Listener& listener() const;

  void readClient();
  void onClientRead(boost::system::error_code ec, std::size_t n);
  // The client spoke the HTTP/2 preface first: the socket and its bytes go to an H2ServerSession.
  void handOverToHttp2();
  void beginRequest();
  void parseHead();
  void handleRequest(std::size_t head_bytes);
  void onExchangeDone(Http1Exchange::Outcome outcome);
  void sendError(unsigned status, std::string_view cause, std::string_view detail, bool close);
  void completeRequest();  // counts one of our own answers and writes its access-log line
  void nextRequest();
  void closeClient();

  // Upgrade (WebSocket): after a 101, bytes flow both ways until both sides have closed.
  void startTunnel();
  // A departed or weight-0 instance: when its tunnel must close (TimePoint::max(): not yet).
  TimePoint tunnelDrainDeadline(TimePoint now);
  void tunnelFlush(bool client_to_upstream);
  void tunnelRead(bool client_to_upstream);
  void tunnelEnded(bool client_to_upstream);

  void setDeadline(uint32_t ms);

  Worker& worker_;
  const uint32_t listener_index_;
  ListenerStats& stats_;
  ClientStream client_;
  std::string client_ip_;
  std::list<DownstreamSession*>::iterator registration_;
  State state_ = State::kIdle;
  TimePoint deadline_ = TimePoint::max();
  bool draining_ = false;
  // While draining, how long an idle connection's next (or first) request may take to arrive.
  static constexpr std::chrono::milliseconds kIdleGrace{1000};
  bool first_bytes_ = true;  // nothing but (a prefix of) the HTTP/2 preface has arrived yet

  // The request being read.
  boost::beast::flat_buffer in_;
  ParseEvents req_;
  std::optional<RequestParser> req_parser_;
  bool client_reading_ = false;
  bool head_request_ = false;
  bool keep_alive_ = true;  // the connection may carry another request after this one
  int client_version_ = 11;
  std::string method_;  // copies for the access log of our own answers (the views die early)
  std::string target_;
  TimePoint started_{};
  unsigned final_status_ = 0;
  uint64_t bytes_sent_ = 0;
  std::string error_cause_;
  std::string error_out_;
  // Made on the first request and kept for the connection's others.
  std::shared_ptr<Http1Exchange> exchange_;

  // Tunnel.
  UpstreamTunnel tunnel_;
  int tunnel_open_ = 0;  // directions of the tunnel still open
  TunnelDrain tunnel_drain_;
};

}  // namespace switchyard::proxy
