#pragma once
// The HTTP/1.1 client side of one request, whatever the cluster speaks: Http1Session hands the
// request over once its head is parsed and gets the connection back when the exchange ends. The
// upstream side is an UpstreamRequest (HTTP/1.1 to http1 clusters, an HTTP/2 stream
// to h2c/h2 ones), so routing, retries, the budget, outlier detection, accounting, deadlines and
// the access-log line are one code for every client. This class is the ResponseSink: it reads
// the rest of the request body from the client through the session's parser and buffer, no
// further ahead of what the upstream has taken than kBodyAhead, and writes the response back as
// HTTP/1.1 (chunked when its length is unknown, with trailers as chunked trailers; HTTP/1.0
// clients get the body up to the close), interim 1xx heads (the instance's 100 Continue), the
// 101 of an Upgrade (whose upstream connection goes to the session for a tunnel), or the
// gateway's own error answer. Worker thread only.
//
// One exchange object serves every request of a connection in turn (its buffers keep their
// capacity): start() for each request, done(Outcome) when it ends.
//
// States: streaming (request body in, response out) --response written--> done (keep-alive or
// close); --101 written--> done (upgraded: the session tunnels); --upstream reset after the
// head--> what arrived is written, then abort; --bad request body--> done (request_error: the
// session answers 400/413 when nothing was written yet); a client read in flight when the
// response ends is waited for (kLinger at most) so that the session's next read does not race
// it.

#include <boost/beast/core/flat_buffer.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/time_source.h"
#include "proxy/client_stream.h"
#include "proxy/http1_head_writer.h"
#include "proxy/http1_parser.h"
#include "proxy/upstream_request.h"

namespace switchyard::proxy {

class Worker;

class Http1Exchange final : public ResponseSink,
                            public std::enable_shared_from_this<Http1Exchange> {
 public:
  // The session's side, valid for the exchange's life.
  struct Client {
    ClientStream& socket;           // the client connection, plain or TLS
    boost::beast::flat_buffer& in;  // request bytes after the head
    ParseEvents& events;            // what the request parser reports
  };
  struct Request {
    RequestParser* parser = nullptr;  // past the head, eager
    bool head_request = false;
    int client_version = 11;
    bool keep_alive = true;  // the client allows another request on the connection
    // The session: held until the exchange ends (done or abort), so that it outlives the wait
    // for an upstream answer when no client operation is pending.
    std::shared_ptr<void> owner;
  };
  // The request is counted and logged already (by the UpstreamRequest), except for a
  // request_error, which the session answers and logs.
  struct Outcome {
    bool abort = false;  // the connection must close at once (truncated response, client gone)
    bool keep_alive = true;
    bool upgraded = false;  // a 101 went out: takeTunnel() has the upstream connection
    // The client's body framing broke before any response byte went out: 400 or 413.
    unsigned request_error = 0;
    std::string_view error_detail;  // valid during done() only

    static Outcome aborted() {
      Outcome o;
      o.abort = true;
      o.keep_alive = false;
      return o;
    }
  };
  using DoneFn = std::function<void(Outcome)>;

  // The decoded head of a parsed HTTP/1.1 request: end-to-end fields in lower case (te kept for
  // an HTTP/2 instance to judge; Host becomes the authority, else `default_authority`), and
  // the Upgrade field when the client asks for one (`upgrade`).
  static RequestHead requestHead(const ParseEvents& request, bool upgrade, std::string_view scheme,
                                 std::string_view client_ip, std::string_view default_authority);

  Http1Exchange(Worker& worker, uint32_t listener_index, Client client, DoneFn done);
  ~Http1Exchange() override;

  // One request: the head, then the body read through request.parser.
  void start(RequestHead head, Request request);
  bool busy() const { return !finished_; }
  // The session's tick.
  void checkDeadline(TimePoint now);
  // The gateway drains: the response says Connection: close when its head is still to come.
  void drain() { keep_alive_ = false; }
  // The session closes: the upstream exchange is cancelled and done is not called.
  void abort();
  // After an upgraded outcome: the instance's connection, with any bytes it sent after the 101.
  UpstreamTunnel takeTunnel() { return std::move(tunnel_); }

 private:
  void pumpRequest();
  void pumpRequestLoop();
  void readClient();
  void writeOut();
  void scheduleWrite();
  void finish(Outcome outcome);
  void badRequestBody(boost::system::error_code ec);

  // ResponseSink.
  void onResponseHead(unsigned status, const std::vector<HeaderField>& fields) override;
  void onInterimHead(unsigned status, const std::vector<HeaderField>& fields) override;
  void onUpgrade(const std::vector<HeaderField>& fields, UpstreamTunnel tunnel) override;
  bool onResponseData(std::string_view data) override;
  void onResponseTrailers(const std::vector<HeaderField>& trailers) override;
  void onResponseEnd() override;
  void onGatewayError(unsigned status, std::string_view cause, std::string_view detail) override;
  void onResponseReset(std::string_view cause) override;
  void onRequestBodyConsumed(std::size_t n) override;

  Worker& worker_;
  const uint32_t listener_index_;
  Client client_;
  DoneFn done_;
  Request request_;
  uint64_t gen_ = 0;  // bumped per request: a handler of an earlier one stops
  std::shared_ptr<UpstreamRequest> upstream_;
  bool finished_ = true;

  // Request body.
  bool request_done_ = false;          // the whole body was read from the client
  bool reading_ = false;               // a client read is in flight
  bool pumping_ = false;               // inside pumpRequest()
  uint64_t ahead_ = 0;                 // body bytes pushed upstream and not yet taken
  std::optional<Outcome> after_read_;  // finished while a client read was in flight
  TimePoint linger_deadline_ = TimePoint::max();
  std::vector<std::pair<std::string, std::string>> request_trailers_;
  std::string error_detail_;

  // Response.
  ParseEvents resp_;  // the head being written (reused: its vectors keep their capacity)
  ResponseFraming framing_ = ResponseFraming::kNone;
  bool upstream_ended_ = false;  // the response (or the error answer) is complete in out_
  bool upstream_reset_ = false;  // the response was cut after its head
  bool keep_alive_ = true;       // for the outcome, once upstream_ended_
  bool paused_ = false;          // onResponseData said "full"
  bool head_written_ = false;    // a response head (final or 101) is in out_ or out
  UpstreamTunnel tunnel_;
  bool upgraded_ = false;
  std::vector<std::pair<std::string, std::string>> trailers_;
  std::string out_;   // bytes waiting for the client
  std::string wbuf_;  // bytes being written
  bool writing_ = false;
  bool write_scheduled_ = false;  // a writeOut() is posted
  TimePoint write_deadline_ = TimePoint::max();  // a client that stops reading is dropped
};

}  // namespace switchyard::proxy
