#pragma once
// One client connection speaking HTTP/1.1, on one worker, for its whole life: it reads requests,
// routes each, relays it to an upstream connection taken from the instance's pool and relays the
// response back, streaming bodies both ways without holding them. Requests on a connection are
// answered one at a time, in order (pipelined requests wait in the input buffer).
//
// Per exchange two pumps run at once: request (client -> upstream: head, then body) and response
// (upstream -> client: interim 1xx, head, body). The exchange ends when both are done. Every step
// has a deadline, enforced by the worker's tick rather than a timer per operation.
//
// States (State below) and their transitions:
//   kIdle --bytes--> kReadingHead --head--> kConnecting --connected--> kExchanging
//   kExchanging --done, keep-alive--> kIdle | --101--> kTunnel | --done, close--> kClosed
//   any --our own error answer--> kWritingError --> kIdle or kClosed
//   kConnecting --connect failure--> kConnecting (another instance, within retries) or error
//   kExchanging --reset/EOF, per-try timeout or a retried status before any response byte went
//     to the client--> kConnecting (another instance: attempts, retries.on, the retry budget)
//
// Retries re-send the request from replay_: the bytes written upstream so far (head and framed
// body), kept while they fit kReplayLimit of body; a longer body makes the request unretryable
// once it outgrows the limit. Connect failures always retry (nothing reached an instance) and do
// not spend the budget; resets and per-try timeouts retry idempotent requests only (resets when
// retries.on has "reset", or on a reused keep-alive connection); statuses listed in retries.on
// retry any request. Nothing retries after a response byte went to the client.

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/time_source.h"
#include "config/config.h"
#include "proxy/client_stream.h"
#include "proxy/downstream_session.h"
#include "proxy/h2_client_exchange.h"
#include "proxy/http1_head_writer.h"
#include "proxy/http1_parser.h"
#include "proxy/retry_rules.h"
#include "proxy/upstream_host.h"

namespace switchyard::proxy {

class Worker;
class ClusterRuntime;
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
    kConnecting,    // an upstream connection is being made (or retried elsewhere)
    kExchanging,    // request and response are being relayed
    kWritingError,  // the gateway's own answer is being written
    kTunnel,        // after 101 Switching Protocols: bytes both ways
    kClosing,       // lingering close: our side is shut, unread client bytes are discarded
    kClosed,
  };

  const config::Listener& listener() const;

  // Client side.
  void readClient();
  void onClientRead(boost::system::error_code ec, std::size_t n);
  // The client spoke the HTTP/2 preface first: the socket and its bytes go to an H2ServerSession.
  void handOverToHttp2();
  void beginRequest();
  void parseHead();
  void handleRequest(std::size_t head_bytes);
  void sendError(unsigned status, std::string_view cause, std::string_view detail, bool close);
  void completeRequest();  // counts the request and writes its access-log line
  void nextRequest();
  void closeClient();

  // Upstream side.
  void pickAndConnect();
  // A new connection to host_, TLS when the cluster says so; null when the cluster's TLS
  // settings did not load (the request is answered 502).
  std::unique_ptr<UpstreamConnection> openUpstreamConnection();
  void onConnected(boost::system::error_code ec, uint64_t gen);
  using Failure = TryFailure;
  void onUpstreamFailure(boost::system::error_code ec, bool connect_phase);
  // Starts another try when `why` allows one now; false when the caller must answer.
  bool retry(Failure why, bool was_reused);
  // The response head arrived: counts it for outlier detection; true when a retry took over.
  bool onFinalHead(unsigned status);
  void resendRequest();
  void dropUpstream();
  void pumpRequest();
  void onRequestWritten(boost::system::error_code ec, uint64_t gen);
  void onRequestSent();
  void readUpstream();
  void onUpstreamRead(boost::system::error_code ec, std::size_t n, uint64_t gen);
  void relayResponse();
  void afterResponseWrite();
  void onResponseDone();
  void finishExchange();
  // The balancer's view of the exchange with host_ ends (in-flight down). Idempotent.
  void releaseLoad();

  // Clusters speaking HTTP/2 upstream (h2c/h2): the exchange is delegated to H2ClientExchange
  // (over an UpstreamRequest), which reads the rest of the request and writes the response; the
  // session gets the connection back in onH2Done.
  void delegateToH2(std::size_t head_bytes);
  void onH2Done(H2ClientExchange::Outcome outcome);

  // Upgrade (WebSocket): after a 101, bytes flow both ways until both sides have closed.
  void startTunnel();
  void tunnelFlush(bool client_to_upstream);
  void tunnelRead(bool client_to_upstream);

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
  bool first_bytes_ = true;  // nothing but (a prefix of) the HTTP/2 preface has arrived yet

  // Request side.
  boost::beast::flat_buffer in_;
  ParseEvents req_;
  std::optional<RequestParser> req_parser_;
  std::string up_head_;      // the request head for the upstream
  std::string req_framing_;  // chunk header for the body piece being written
  std::string req_tail_;     // chunk end, last chunk and trailers
  std::vector<boost::asio::const_buffer> req_bufs_;
  std::size_t req_consume_ = 0;  // input bytes the in-flight upstream write covers
  bool req_head_sent_ = false;
  bool req_writing_ = false;  // an upstream write of request bytes is in flight
  std::string replay_;        // request bytes written upstream so far, for a retry
  bool replay_ok_ = true;     // replay_ holds everything written (within kReplayLimit)
  TimePoint request_deadline_ = TimePoint::max();  // request_timeout_ms over every try
  bool request_done_ = false;
  bool client_reading_ = false;
  bool head_request_ = false;
  bool keep_alive_ = true;  // the connection may carry another request after this one
  bool upgrade_ = false;
  bool idempotent_ = false;
  bool has_body_ = false;
  int client_version_ = 11;
  std::string method_;  // copies for the access log (the head's views die early)
  std::string target_;
  TimePoint started_{};

  // Upstream side.
  ClusterRuntime* cluster_ = nullptr;
  std::shared_ptr<UpstreamHost> host_;
  const UpstreamHost* excluded_ = nullptr;  // the host whose connect just failed
  std::unique_ptr<UpstreamConnection> up_;
  uint64_t up_gen_ = 0;  // bumped when up_ changes, so stale handlers know to stop
  bool counted_in_flight_ = false;
  std::optional<uint64_t> hash_key_;  // ring_hash / maglev key of this request, kept for retries
  bool load_counted_ = false;         // host_->load.in_flight counts this exchange
  bool latency_sampled_ = false;      // host_->load has this exchange's latency
  TimePoint picked_at_{};             // when host_ was picked (worker's TimeSource)
  uint32_t attempts_ = 0;
  ParseEvents resp_;
  std::optional<ResponseParser> resp_parser_;
  std::string resp_out_;      // response head for the client
  std::string resp_framing_;  // chunk header
  std::string resp_tail_;     // chunk end, last chunk and trailers
  std::vector<boost::asio::const_buffer> resp_bufs_;
  std::size_t resp_consume_ = 0;
  ResponseFraming framing_ = ResponseFraming::kNone;
  bool head_relayed_ = false;
  bool interim_ = false;           // a 1xx is being relayed
  bool response_started_ = false;  // bytes of the final response went to the client
  bool response_done_ = false;
  bool upstream_eof_ = false;
  int tunnel_open_ = 0;  // directions of the tunnel still open
  unsigned final_status_ = 0;
  uint64_t bytes_sent_ = 0;
  std::string error_cause_;
  std::string tls_failure_;  // why the last try's TLS handshake failed (502 upstream-tls)
  std::string error_out_;
  std::shared_ptr<H2ClientExchange> h2_;  // the request being relayed to an HTTP/2 upstream
};

}  // namespace switchyard::proxy
