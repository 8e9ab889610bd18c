#pragma once
// The upstream exchange of one request on an HTTP/2 stream (clusters with protocol h2c/h2), for
// UpstreamRequest: once UpstreamRequest has routed a request to such a cluster it hands the
// rest over, and forwards its public calls here. Same contract (upstream_request.h): the body
// comes through pushBody()/endBody() and is reported taken through
// ResponseSink::onRequestBodyConsumed as the HTTP/2 connection frames it; the response goes to
// the ResponseSink; resumeResponse() reopens the stream's window after the sink paused.
// Worker thread only.
//
// States: kStreaming (a stream is open, or being retried) --response end--> kDone;
// any failure before the final head: another instance when the rules allow (a connect failure
// or a refused stream always, within attempts, without spending budget: nothing was processed;
// a reset or timeout for idempotent requests; a retries.on status), else the gateway's own
// answer; after the head: a reset of the response.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/time_source.h"
#include "proxy/h2_client_connection.h"
#include "proxy/http1_parser.h"
#include "proxy/upstream_request.h"

namespace switchyard::proxy {

class Worker;
class ClusterRuntime;
class UpstreamHost;
struct ListenerStats;

class H2ClientRequest final : public H2StreamHandler,
                              public std::enable_shared_from_this<H2ClientRequest> {
 public:
  // `head` is the routed request (kept by reference: the UpstreamRequest owns it and outlives
  // this); `started` is when the request began, for its access-log line.
  H2ClientRequest(Worker& worker, uint32_t listener_index, ResponseSink& sink,
                  ClusterRuntime& cluster, std::optional<uint64_t> hash_key,
                  const RequestHead& head, TimePoint started);
  ~H2ClientRequest() override;

  // The HTTP/2 request head: pseudo-headers, the fields an HTTP/2 request may carry (te only as
  // "trailers"), X-Forwarded-For/-Proto. `scheme` is the upstream's ("http" for h2c).
  static H2Headers requestHeaders(const RequestHead& head, std::string_view scheme);

  void start();
  void pushBody(std::string_view data);
  void endBody(std::vector<std::pair<std::string, std::string>> trailers);
  void resumeResponse();
  void checkDeadline(TimePoint now);
  void cancel();
  bool done() const { return done_; }

 private:
  void pickAndSubmit();
  bool retry(H2Failure failure, bool timeout);
  bool retryOnStatus();
  void sendBody(std::string_view data);
  void reportConsumed();
  void armTryDeadline();
  void dropStream();
  void releaseLoad();
  void fail(unsigned status, std::string_view cause, const std::string& detail);
  void finish();
  std::string where() const;

  // H2StreamHandler.
  void onH2Head(unsigned status, const H2Headers& headers, bool end_stream) override;
  void onH2Data(std::string_view data) override;
  void onH2Trailers(const H2Headers& trailers) override;
  void onH2End() override;
  void onH2Fail(H2Failure failure, uint32_t code, std::string_view detail) override;
  void onH2BodyWritable() override;

  Worker& worker_;
  const uint32_t listener_index_;
  ListenerStats& stats_;
  ResponseSink* sink_;  // null once done or cancelled
  ClusterRuntime& cluster_;
  const std::optional<uint64_t> hash_key_;
  const RequestHead& head_;
  const TimePoint started_;
  H2Headers headers_;
  bool idempotent_ = false;
  bool done_ = false;

  std::shared_ptr<UpstreamHost> host_;
  const UpstreamHost* excluded_ = nullptr;
  std::shared_ptr<H2ClientConnection> conn_;
  int32_t stream_id_ = 0;
  bool load_counted_ = false;
  bool counted_in_flight_ = false;
  uint32_t attempts_ = 0;
  TimePoint picked_at_{};
  TimePoint request_deadline_ = TimePoint::max();
  TimePoint deadline_ = TimePoint::max();

  // Request body.
  std::string replay_;  // body bytes pushed so far, for a retry
  bool replay_ok_ = true;
  bool body_ended_ = false;
  std::vector<std::pair<std::string, std::string>> trailers_;
  uint64_t received_ = 0;  // body bytes pushed by the downstream
  uint64_t reported_ = 0;  // ... of them reported consumed to the sink

  // Response.
  bool response_started_ = false;
  bool paused_ = false;
  std::size_t unconsumed_ = 0;  // delivered while paused: their window waits for resume
  unsigned final_status_ = 0;
  uint64_t bytes_sent_ = 0;
  std::string error_cause_;
  std::vector<HeaderField> fields_;
};

}  // namespace switchyard::proxy
