#pragma once
// One HTTP/1.1 client request relayed to an HTTP/2 upstream (a cluster with protocol h2c/h2):
// Http1Session hands the request over once its head is parsed and gets it back when the
// exchange ends. Meanwhile the exchange reads the rest of the request body from the client
// (through the session's parser and buffer), sends it on an HTTP/2 stream taken from the
// instance's H2ClientPool, and writes the response back as HTTP/1.1 (chunked when its length is
// unknown, with the HTTP/2 trailers as chunked trailers). Worker thread only.
//
// States: kStreaming (a stream is open; request body may still flow) --response complete and
// written--> kFinished; --a failure before any response byte went to the client--> another
// instance (retries) or the session's own error answer; --a failure after--> abort.
// Retries follow Http1Session's rules: a connect failure always (no budget), a refused stream
// (REFUSED_STREAM, above GOAWAY's last stream) when retries.on has refused-stream (no budget
// either: nothing was processed), a reset or a
// timeout for idempotent requests, a status listed in retries.on; the request body is re-sent
// from a replay copy while it fits kReplayLimit.

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/time_source.h"
#include "proxy/h2_client_connection.h"
#include "proxy/http1_parser.h"

namespace switchyard::proxy {

class Worker;
class ClusterRuntime;
class UpstreamHost;

class H2ClientExchange final : public H2StreamHandler,
                               public std::enable_shared_from_this<H2ClientExchange> {
 public:
  // The client side, owned by the delegating session and valid while the exchange runs.
  struct Client {
    boost::asio::ip::tcp::socket& socket;
    boost::beast::flat_buffer& in;  // request bytes after the head
    RequestParser& parser;          // past the head, eager
    ParseEvents& events;
    // The session: held until the exchange ends (done or abort), so that it outlives the wait
    // for an upstream answer when no client operation is pending.
    std::shared_ptr<void> owner;
  };
  struct Request {
    H2Headers headers;  // from requestHeaders()
    bool has_body = false;
    bool idempotent = false;
    bool head_request = false;
    int client_version = 11;
    bool keep_alive = true;
    std::optional<uint64_t> hash_key;
  };
  struct Outcome {
    enum class Kind {
      kDone,   // the response went out whole
      kError,  // nothing went to the client: the session answers status/cause/detail
      kAbort,  // the client connection must close at once (truncated response, client gone)
    };
    Kind kind = Kind::kDone;
    unsigned status = 0;
    std::string cause;
    std::string detail;
    bool keep_alive = true;
    uint64_t bytes_sent = 0;
    std::shared_ptr<UpstreamHost> host;  // the instance that answered, for the access log
  };
  using DoneFn = std::function<void(Outcome)>;

  // The HTTP/2 request head for a parsed HTTP/1.1 request: pseudo-headers, end-to-end fields in
  // lower case (te only as "trailers"), X-Forwarded-For/-Proto as the HTTP/1.1 path sets them.
  static H2Headers requestHeaders(const ParseEvents& request, std::string_view scheme,
                                  std::string_view client_ip, std::string_view proto,
                                  std::string_view default_authority);

  H2ClientExchange(Worker& worker, ClusterRuntime& cluster, Client client, Request request,
                   DoneFn done);
  ~H2ClientExchange() override;

  void start();
  // The session's tick.
  void checkDeadline(TimePoint now);
  // The session closes: the stream is cancelled and done is not called.
  void abort();

 private:
  enum class Failure { kConnect, kRefused, kReset, kTimeout, kStatus };

  void pickAndSubmit();
  bool retry(Failure why);
  void armTryDeadline();
  void dropStream();
  void releaseLoad();
  void pumpRequest();
  void pumpRequestLoop();
  void readClient();
  void onRequestRead();
  void writeOut();
  void finish(Outcome outcome);
  void finishError(unsigned status, std::string cause, std::string detail);
  std::string where() const;

  // H2StreamHandler.
  void onH2Head(unsigned status, const H2Headers& headers, bool end_stream) override;
  void onH2Data(std::string_view data) override;
  void onH2Trailers(const H2Headers& trailers) override;
  void onH2End() override;
  void onH2Fail(H2Failure failure, uint32_t code, std::string_view detail) override;
  void onH2BodyWritable() override;

  Worker& worker_;
  ClusterRuntime& cluster_;
  Client client_;
  Request request_;
  DoneFn done_;
  bool finished_ = false;

  // Upstream.
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
  std::string replay_;  // body bytes sent so far, for a retry
  bool replay_ok_ = true;
  H2Headers request_trailers_;
  bool request_done_ = false;          // the whole body was read from the client
  bool reading_ = false;               // a client read is in flight
  bool pumping_ = false;               // inside pumpRequest()
  std::optional<Outcome> after_read_;  // finished while a client read was in flight

  // Response.
  enum class Framing { kNone, kContentLength, kChunked, kClose } framing_ = Framing::kNone;
  bool response_started_ = false;
  bool response_done_ = false;
  bool upstream_failed_ = false;  // the stream failed after the head: flush, then abort
  unsigned final_status_ = 0;
  H2Headers response_trailers_;
  std::string out_;   // bytes waiting for the client
  std::string wbuf_;  // bytes being written
  bool writing_ = false;
  std::size_t pending_consume_ = 0;  // body bytes in out_ (their window reopens once written)
  std::size_t writing_consume_ = 0;  // ... in wbuf_
  uint64_t bytes_sent_ = 0;
};

}  // namespace switchyard::proxy
