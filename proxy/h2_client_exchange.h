#pragma once
// An HTTP/1.1 client's request for a cluster that speaks HTTP/2 upstream (h2c/h2): Http1Session
// hands it over once the head is parsed and gets the connection back when the exchange ends.
// The upstream side is an UpstreamRequest (which gives h2 clusters to H2ClientRequest), so
// routing, retries, accounting and the access-log line are those of HTTP/2 clients. This class
// is the HTTP/1.1 side, a ResponseSink: it reads the rest of the request body from the client
// through the session's parser and buffer, no further ahead of what the upstream has taken
// than kBodyAhead, and writes the response back as HTTP/1.1 (chunked when its length is
// unknown, with the HTTP/2 trailers as chunked trailers), or the gateway's own error answer.
// Worker thread only.
//
// Expect: 100-continue is answered by the gateway itself, as nginx does: the body is read
// anyway (it is needed for a retry), and the field means nothing to an HTTP/2 instance.
//
// States: streaming (request body in, response out) --response written--> done (keep-alive or
// close); --upstream reset after the head--> what arrived is written, then abort; a client read
// in flight when the response ends is waited for (kLinger at most) so that the session's next
// read does not race it.

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/time_source.h"
#include "proxy/client_stream.h"
#include "proxy/http1_parser.h"
#include "proxy/upstream_request.h"

namespace switchyard::proxy {

class Worker;

class H2ClientExchange final : public ResponseSink,
                               public std::enable_shared_from_this<H2ClientExchange> {
 public:
  // The client side, owned by the delegating session and valid while the exchange runs.
  struct Client {
    ClientStream& socket;  // the client connection, plain or TLS
    boost::beast::flat_buffer& in;  // request bytes after the head
    RequestParser& parser;          // past the head, eager
    ParseEvents& events;
    // The session: held until the exchange ends (done or abort), so that it outlives the wait
    // for an upstream answer when no client operation is pending.
    std::shared_ptr<void> owner;
  };
  struct Request {
    RequestHead head;  // from requestHead()
    bool head_request = false;
    int client_version = 11;
    bool keep_alive = true;        // the client allows another request on the connection
    bool expect_continue = false;  // answer 100 Continue first
  };
  // The request is counted and logged already (by the UpstreamRequest).
  struct Outcome {
    bool abort = false;  // the connection must close at once (truncated response, client gone)
    bool keep_alive = true;
  };
  using DoneFn = std::function<void(Outcome)>;

  // The decoded head of a parsed HTTP/1.1 request: end-to-end fields in lower case (te kept for
  // the HTTP/2 side to judge; Host becomes the authority; Expect dropped when answered here).
  static RequestHead requestHead(const ParseEvents& request, std::string_view scheme,
                                 std::string_view client_ip, std::string_view default_authority,
                                 bool drop_expect);

  H2ClientExchange(Worker& worker, uint32_t listener_index, Client client, Request request,
                   DoneFn done);
  ~H2ClientExchange() override;

  void start();
  // The session's tick.
  void checkDeadline(TimePoint now);
  // The session closes: the upstream exchange is cancelled and done is not called.
  void abort();

 private:
  void pumpRequest();
  void pumpRequestLoop();
  void readClient();
  void writeOut();
  void finish(Outcome outcome);
  void fromUpstreamEnd(bool keep_alive);

  // ResponseSink.
  void onResponseHead(unsigned status, const std::vector<HeaderField>& fields) override;
  bool onResponseData(std::string_view data) override;
  void onResponseTrailers(const std::vector<HeaderField>& trailers) override;
  void onResponseEnd() override;
  void onGatewayError(unsigned status, std::string_view cause, std::string_view detail) override;
  void onResponseReset(std::string_view cause) override;
  void onRequestBodyConsumed(std::size_t n) override;

  Worker& worker_;
  const uint32_t listener_index_;
  Client client_;
  Request request_;
  DoneFn done_;
  std::shared_ptr<UpstreamRequest> upstream_;
  bool finished_ = false;

  // Request body.
  bool request_done_ = false;          // the whole body was read from the client
  bool reading_ = false;               // a client read is in flight
  bool pumping_ = false;               // inside pumpRequest()
  uint64_t ahead_ = 0;                 // body bytes pushed upstream and not yet taken
  std::optional<Outcome> after_read_;  // finished while a client read was in flight
  TimePoint linger_deadline_ = TimePoint::max();

  // Response.
  enum class Framing { kNone, kContentLength, kChunked, kClose } framing_ = Framing::kNone;
  bool upstream_ended_ = false;  // the response (or the error answer) is complete in out_
  bool upstream_reset_ = false;  // the response was cut after its head
  bool keep_alive_ = true;       // for the outcome, once upstream_ended_
  bool paused_ = false;          // onResponseData said "full"
  std::vector<std::pair<std::string, std::string>> trailers_;
  std::string out_;   // bytes waiting for the client
  std::string wbuf_;  // bytes being written
  bool writing_ = false;
};

}  // namespace switchyard::proxy
