#pragma once
// The upstream side of ONE request, whatever protocol the client speaks: it routes the request
// (the listener's RouteTable on authority, path and headers; splits), picks an instance through
// the cluster's ClusterRuntime (weights, hash key, the failed instance excluded on a retry),
// runs a try on it (an UpstreamTry in the cluster's protocol) and hands the response to a
// ResponseSink. It is the one place that keeps the promises of README "Deploy safety", for
// HTTP/1.1 and HTTP/2 upstreams alike: retries (retry_rules.h: connect failures, refused
// streams, resets before any response byte for idempotent requests, per-try timeouts,
// retries.on statuses, the retry budget), the replay buffer (body bytes kept for a retry, up to
// kReplayLimit), outlier detection (ClusterRuntime::recordAnswer / recordFailure), load
// accounting for least_request / p2c_ewma, the departed-host drain deadline, request_timeout_ms,
// per-instance figures and the access-log line. Worker thread only.
//
// The downstream owns an UpstreamRequest through a shared_ptr (its I/O handlers hold one too) and
// drives it: start(), then the body with pushBody()/endBody() (the exchange copies what it is
// given and reports each byte the try has taken through onRequestBodyConsumed(), which is where
// an HTTP/2 downstream reopens its flow-control window), resumeResponse() after the sink asked
// for a pause, checkDeadline() from its worker tick, cancel() when the client goes away.
//
// States:
//   kIdle --start--> kConnecting --try connected--> kExchanging --final head--> kResponding
//   kResponding --try end--> kDone
//   kConnecting/kExchanging --failure allowed to retry--> kConnecting (another instance)
//   any --error answer, reset, cancel--> kDone
// The request is written while kExchanging and kResponding (an answer may come before the whole
// body went out).
//
// The try (upstream_try.h): an Http1UpstreamTry for an http1 cluster, an H2UpstreamTry for an
// h2c/h2 cluster, made once the request is routed and started again for every retry.

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
#include "proxy/upstream_try.h"

namespace switchyard::proxy {

class Worker;
class ClusterRuntime;
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
  // The cluster, by position and name (Worker::cluster(); a reload may replace it), for the
  // tunnel's drain when the instance's weight becomes 0 (TunnelDrain).
  int cluster_index = -1;
  std::string cluster;
};

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
  // Trailers (from a chunked HTTP/1.1 response or HTTP/2 trailers), then onResponseEnd.
  virtual void onResponseTrailers(const std::vector<HeaderField>& trailers) = 0;
  virtual void onResponseEnd() = 0;
  // Before any head: the gateway's own answer (502, 503, 504, 404...). `cause` is the
  // x-switchyard-error value.
  virtual void onGatewayError(unsigned status, std::string_view cause, std::string_view detail) = 0;
  // After the head: the response cannot be completed (the client must see a reset).
  virtual void onResponseReset(std::string_view cause) = 0;
  // `n` request body bytes were taken by the exchange (written upstream, or kept for a retry).
  virtual void onRequestBodyConsumed(std::size_t n) = 0;
};

class UpstreamRequest final : public std::enable_shared_from_this<UpstreamRequest>,
                              private UpstreamTryEvents {
 public:
  // Request body bytes kept for a retry; a longer body is sent once.
  static constexpr std::size_t kReplayLimit = 64 * 1024;

  UpstreamRequest(Worker& worker, uint32_t listener_index, ResponseSink& sink);
  ~UpstreamRequest() override;
  UpstreamRequest(const UpstreamRequest&) = delete;
  UpstreamRequest& operator=(const UpstreamRequest&) = delete;

  // Routes and starts the first try. May answer at once through the sink (no route, no instance).
  void start(RequestHead head);
  // More request body (copied). The downstream bounds how much it pushes ahead of
  // onRequestBodyConsumed (HTTP/2: the stream's flow-control window).
  void pushBody(std::string_view data);
  // The request ends, with trailers (sent when the upstream request is chunked, or as HTTP/2
  // trailers).
  void endBody(RequestTrailers trailers = {});
  // The sink has room again after onResponseData returned false.
  void resumeResponse();
  // The worker's tick: connect, request, per-try, idle and drain deadlines.
  void checkDeadline(TimePoint now);
  // The client went away: stops everything, the sink hears nothing more.
  void cancel();

  bool done() const { return state_ == State::kDone; }
  bool requestEnded() const { return body_ended_; }

 private:
  enum class State { kIdle, kConnecting, kExchanging, kResponding, kDone };

  // An h2c/h2 cluster: Expect is dropped, and its 100 Continue given by the gateway.
  void answerExpectForHttp2();
  void pickAndStart();
  bool retry(TryFailure why, bool stale);
  void fail(unsigned status, std::string_view cause, const std::string& detail);
  void finish();   // counts the request and writes its access-log line
  void dropTry();  // abandons the try in progress and gives its load back
  std::string where() const;

  // UpstreamTryEvents.
  void onTryConnected() override;
  void onTryBodyConsumed(std::size_t n) override;
  void onTryRequestSent() override;
  void onTryInterimHead(unsigned status, const std::vector<HeaderField>& fields) override;
  void onTryHead(unsigned status, const std::vector<HeaderField>& fields) override;
  void onTryUpgrade(const std::vector<HeaderField>& fields,
                    std::unique_ptr<UpstreamConnection> conn) override;
  bool onTryData(std::string_view data) override;
  void onTryTrailers(const std::vector<HeaderField>& trailers) override;
  void onTryEnd() override;
  void onTryFailed(const TryFault& fault) override;
  std::shared_ptr<void> keepAlive() override { return shared_from_this(); }

  Worker& worker_;
  const uint32_t listener_index_;
  ListenerStats& stats_;
  ResponseSink* sink_;  // null once the exchange is done
  State state_ = State::kIdle;
  RequestHead head_;
  bool idempotent_ = false;
  TimePoint started_{};
  TimePoint request_deadline_ = TimePoint::max();
  TimePoint deadline_ = TimePoint::max();  // the current step's
  // deadline_ is the adaptive per-try deadline (retries.per_try_timeout_ms: auto).
  bool adaptive_deadline_ = false;
  TimePoint sent_at_{};  // the current try sent the whole request

  // Request body.
  std::string replay_;  // body bytes received so far, for a retry, while replay_ok_
  bool replay_ok_ = true;
  bool body_ended_ = false;
  RequestTrailers trailers_;
  uint64_t try_taken_ = 0;     // body bytes the current try has taken
  uint64_t reported_ = 0;      // body bytes reported consumed to the sink (the most any try took)
  bool request_sent_ = false;  // the current try sent the whole request

  // Upstream side.
  ClusterRuntime* cluster_ = nullptr;
  std::shared_ptr<UpstreamHost> host_;
  const UpstreamHost* excluded_ = nullptr;
  std::optional<uint64_t> hash_key_;
  uint32_t attempts_ = 0;
  bool load_counted_ = false;
  bool counted_in_flight_ = false;
  TimePoint picked_at_{};
  bool response_started_ = false;
  bool paused_ = false;
  unsigned final_status_ = 0;
  uint64_t bytes_sent_ = 0;
  std::string error_cause_;

  // The try, in the routed cluster's protocol: made once routed, reused by every retry.
  std::unique_ptr<UpstreamTry> try_;
  bool try_live_ = false;  // a try runs: it must be abandoned before another starts
  uint64_t try_gen_ = 0;   // counts the tries started
};

}  // namespace switchyard::proxy
