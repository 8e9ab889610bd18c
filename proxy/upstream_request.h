#pragma once
// The upstream side of ONE request, whatever protocol the client speaks: it routes the request
// (the listener's RouteTable on authority, path and headers; splits), picks an instance through
// the cluster's ClusterRuntime (weights, hash key, the failed instance excluded on a retry),
// sends the request on a connection from the instance's pool and hands the response to a
// ResponseSink. It keeps the promises of README "Deploy safety" as Http1Session does: retries
// (connect failure, reset before any response byte for idempotent requests, per-try timeout,
// retries.on statuses, the retry budget, the replay buffer limit), outlier detection, load
// accounting for least_request / p2c_ewma, the departed-host drain deadline, request_timeout_ms,
// per-instance figures and the access-log line. Worker thread only.
//
// The downstream owns an UpstreamRequest through a shared_ptr (its I/O handlers hold one too) and
// drives it: start(), then the body with pushBody()/endBody() (the exchange copies what it is
// given and reports each byte written upstream through onRequestBodyConsumed(), which is where
// an HTTP/2 downstream reopens its flow-control window), resumeResponse() after the sink asked
// for a pause, checkDeadline() from its worker tick, cancel() when the client goes away.
//
// States:
//   kIdle --start--> kConnecting --connected--> kExchanging --final head--> kResponding
//   kResponding --response end--> kDone
//   kConnecting/kExchanging --failure allowed to retry--> kConnecting (another instance)
//   any --error answer, reset, cancel--> kDone
// The request is written while kExchanging and kResponding (an answer may come before the whole
// body went out).
//
// The upstream protocol: for an http1 cluster a try is an HTTP/1.1 connection (the methods under
// "HTTP/1.1 try" in the .cc: the request head written with writeUpstreamRequestHead, the body
// framed with Content-Length or chunked, the response read with ResponseParser). For an h2c/h2
// cluster, once routed, the exchange is handed whole to H2ClientRequest (a stream on the
// instance's H2ClientPool), which keeps the same contract with the sink and the same retry,
// accounting and access-log rules; the public methods below forward to it.

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/time_source.h"
#include "proxy/http1_parser.h"
#include "proxy/retry_rules.h"
#include "proxy/upstream_host.h"

namespace switchyard::proxy {

class Worker;
class ClusterRuntime;
class H2ClientRequest;
struct ListenerStats;

// A request as the downstream decoded it, owned by the exchange.
struct RequestHead {
  std::string method;
  std::string scheme;     // "http" or "https": X-Forwarded-Proto
  std::string authority;  // :authority (or Host); becomes Host for an HTTP/1.1 upstream
  std::string path;       // :path, the request target
  // Regular fields in arrival order, names lower-case, no pseudo-fields.
  std::vector<std::pair<std::string, std::string>> fields;
  std::optional<uint64_t> content_length;
  bool has_body = false;  // body bytes (or trailers) follow the head
  std::string client_ip;
  int version = 20;  // for the access log: 20 = HTTP/2
  // The client's Upgrade field (HTTP/1.1 only): it asks for a tunnel after a 101. Empty: none.
  std::string upgrade;
};

// The upstream connection of a request the instance answered with 101 Switching Protocols,
// handed to the downstream for a byte tunnel. The receiver owns it and gives the connection
// back with host->discard() when the tunnel ends (the host counts it open until then).
struct UpstreamTunnel {
  std::shared_ptr<UpstreamHost> host;
  std::unique_ptr<UpstreamConnection> conn;  // conn->in holds the bytes after the 101 head
  uint32_t idle_timeout_ms = 0;              // the cluster's, for the tunnel's idle deadline
};

// Appends the HTTP/1.1 request head for `head` to `out`: Host from :authority when the client
// sent none, Cookie fields joined, hop-by-hop fields (te, connection...) dropped,
// X-Forwarded-For/-Proto set, Transfer-Encoding: chunked when a body of unknown length follows.
// Returns whether the body must be sent chunked.
bool writeHttp1RequestHead(std::string& out, const RequestHead& head);

// Where the response goes. Every call is made on the worker thread, possibly from inside an
// UpstreamRequest method. After onResponseEnd, onGatewayError, onResponseReset or onUpgrade no
// other call follows.
class ResponseSink {
 public:
  virtual ~ResponseSink() = default;
  // The final response head. `fields` are the upstream's end-to-end fields (hop-by-hop ones
  // already dropped), valid during the call only.
  virtual void onResponseHead(unsigned status, const std::vector<HeaderField>& fields) = 0;
  // An interim 1xx head before the final one (end-to-end fields, valid during the call): an
  // HTTP/1.1 instance's (100 Continue, 103 Early Hints), or, for a request with Expect:
  // 100-continue and a body routed to an h2c/h2 cluster, the gateway's own 100 (the field means
  // nothing to an HTTP/2 instance, so it is dropped and answered here). Ignored by default.
  virtual void onInterimHead(unsigned status, const std::vector<HeaderField>& fields) {}
  // The instance switched protocols (101) for a request with RequestHead::upgrade: `fields` are
  // the 101's fields as received (Upgrade included), valid during the call; the connection is
  // the sink's from here on. The last call. Only HTTP/1.1 downstreams ask for an upgrade; the
  // default closes the connection.
  virtual void onUpgrade(const std::vector<HeaderField>& fields, UpstreamTunnel tunnel);
  // A piece of the body, valid during the call only. Return false to pause: the exchange reads
  // no more from the upstream until resumeResponse().
  virtual bool onResponseData(std::string_view data) = 0;
  // Trailers (from a chunked HTTP/1.1 response), then onResponseEnd.
  virtual void onResponseTrailers(const std::vector<HeaderField>& trailers) = 0;
  virtual void onResponseEnd() = 0;
  // Before any head: the gateway's own answer (502, 503, 504, 404...). `cause` is the
  // x-switchyard-error value.
  virtual void onGatewayError(unsigned status, std::string_view cause,
                              std::string_view detail) = 0;
  // After the head: the response cannot be completed (the client must see a reset).
  virtual void onResponseReset(std::string_view cause) = 0;
  // `n` request body bytes were taken by the exchange (written upstream, or kept for a retry).
  virtual void onRequestBodyConsumed(std::size_t n) = 0;
};

class UpstreamRequest final : public std::enable_shared_from_this<UpstreamRequest> {
 public:
  UpstreamRequest(Worker& worker, uint32_t listener_index, ResponseSink& sink);
  ~UpstreamRequest();
  UpstreamRequest(const UpstreamRequest&) = delete;
  UpstreamRequest& operator=(const UpstreamRequest&) = delete;

  // Routes and starts the first try. May answer at once through the sink (no route, no instance).
  void start(RequestHead head);
  // More request body (copied). The downstream bounds how much it pushes ahead of
  // onRequestBodyConsumed (HTTP/2: the stream's flow-control window).
  void pushBody(std::string_view data);
  // The request ends, with trailers (sent when the upstream request is chunked).
  void endBody(std::vector<std::pair<std::string, std::string>> trailers = {});
  // The sink has room again after onResponseData returned false.
  void resumeResponse();
  // The worker's tick: connect, request, per-try, idle and drain deadlines.
  void checkDeadline(TimePoint now);
  // The client went away: stops everything, the sink hears nothing more.
  void cancel();

  bool done() const;
  bool requestEnded() const { return body_ended_; }

 private:
  enum class State { kIdle, kConnecting, kExchanging, kResponding, kDone };

  // Routing, picking, retrying and finishing (protocol-independent).
  // An h2c/h2 cluster: Expect is dropped, and its 100 Continue given by the gateway.
  void answerExpectForHttp2();
  void pickAndConnect();
  bool retry(TryFailure why, bool was_reused);
  void onTryFailure(boost::system::error_code ec, bool connect_phase);
  // The final head arrived: outlier detection, retries.on; true when a retry took over.
  bool onFinalHead(unsigned status);
  void fail(unsigned status, std::string_view cause, const std::string& detail);
  void finish();  // counts the request and writes its access-log line
  void releaseLoad();
  void dropUpstream();
  std::string where() const;

  // HTTP/1.1 try.
  void onConnected(boost::system::error_code ec, uint64_t gen);
  void writeRequest();
  void onRequestWritten(boost::system::error_code ec, uint64_t gen);
  void onRequestSent();
  void readResponse();
  void onResponseRead(boost::system::error_code ec, std::size_t n, uint64_t gen);
  void relayResponse();
  void resetParser();
  void onResponseComplete();
  void handOverUpgrade(std::size_t head_bytes);

  Worker& worker_;
  const uint32_t listener_index_;
  ListenerStats& stats_;
  ResponseSink* sink_;  // null once the exchange is done
  State state_ = State::kIdle;
  RequestHead head_;
  bool idempotent_ = false;
  bool head_request_ = false;
  TimePoint started_{};
  TimePoint request_deadline_ = TimePoint::max();
  TimePoint deadline_ = TimePoint::max();  // the current step's

  // Request side.
  std::string up_head_;  // the request head for the upstream
  bool chunked_ = false;
  std::string pending_;  // body bytes not yet written
  std::vector<std::pair<std::string, std::string>> trailers_;
  bool body_ended_ = false;
  std::string writing_body_;  // body bytes of the write in flight
  std::string framing_;       // chunk header of the write in flight
  std::string tail_;          // chunk end, last chunk, trailers of the write in flight
  std::vector<boost::asio::const_buffer> bufs_;
  bool writing_ = false;
  bool head_sent_ = false;
  bool tail_sent_ = false;  // the end of the request was written
  bool write_has_tail_ = false;  // the write in flight ends the request
  bool resending_ = false;       // the write in flight is replay_
  bool replay_has_tail_ = false;
  std::string replay_;      // request bytes written so far, for a retry
  bool replay_ok_ = true;

  // Upstream side.
  ClusterRuntime* cluster_ = nullptr;
  std::shared_ptr<UpstreamHost> host_;
  const UpstreamHost* excluded_ = nullptr;
  std::unique_ptr<UpstreamConnection> up_;
  uint64_t up_gen_ = 0;
  std::optional<uint64_t> hash_key_;
  uint32_t attempts_ = 0;
  bool load_counted_ = false;
  bool counted_in_flight_ = false;
  bool latency_sampled_ = false;
  TimePoint picked_at_{};
  ParseEvents resp_;
  std::optional<ResponseParser> resp_parser_;
  std::vector<HeaderField> out_fields_;  // end-to-end fields of the head or trailers
  bool response_started_ = false;
  bool reading_ = false;
  bool paused_ = false;
  bool upstream_eof_ = false;
  unsigned final_status_ = 0;
  uint64_t bytes_sent_ = 0;
  std::string error_cause_;
  std::string tls_failure_;  // why the try's TLS handshake failed (502 upstream-tls)
  // Clusters speaking HTTP/2 (h2c/h2): after routing, the exchange is H2ClientRequest's.
  std::shared_ptr<H2ClientRequest> h2_;
};

}  // namespace switchyard::proxy
