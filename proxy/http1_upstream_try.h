#pragma once
// A try of an UpstreamRequest on an HTTP/1.1 upstream (clusters with protocol http1, plain or
// TLS): a keep-alive connection from the instance's pool, or a new one (connected, and
// handshaken for TLS, within connect_timeout_ms); the request head written by
// writeHttp1RequestHead, the body framed with Content-Length or chunked (with the request's
// trailers), the response read with ResponseParser and reported as try events
// (upstream_try.h). Interim 1xx answers are reported; a 101 hands the connection over to the
// exchange when the request asked for an upgrade, and is malformed otherwise. When the response
// ends the connection goes back to the pool if it can carry another request (the whole request
// went out, keep-alive, nothing unread). Worker thread only; embedded in its UpstreamRequest.
//
// States: kIdle --start--> kConnecting --connected--> kOpen --response end or failure--> kIdle.
// The request is written while kOpen (an answer may come before the whole body went out: the
// end waits for the last write, and the connection is reused only if it went out whole).

#include <array>
#include <boost/asio/buffer.hpp>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "proxy/http1_parser.h"
#include "proxy/upstream_try.h"

namespace switchyard::proxy {

class Worker;
struct UpstreamConnection;

// Appends the HTTP/1.1 request head for `head` to `out`: Host from :authority when the client
// sent none, Cookie fields joined, hop-by-hop fields (te, connection...) dropped,
// X-Forwarded-For/-Proto set, Transfer-Encoding: chunked when a body of unknown length follows,
// Upgrade with Connection: upgrade when the client asked for one.
// Returns whether the body must be sent chunked.
bool writeHttp1RequestHead(std::string& out, const RequestHead& head);
// The same, with `scratch` for the field list (reused, so that its capacity serves again).
bool writeHttp1RequestHead(std::string& out, const RequestHead& head, ParseEvents& scratch);

class Http1UpstreamTry final : public UpstreamTry {
 public:
  Http1UpstreamTry(Worker& worker, UpstreamTryEvents& events);
  ~Http1UpstreamTry() override;
  Http1UpstreamTry(const Http1UpstreamTry&) = delete;
  Http1UpstreamTry& operator=(const Http1UpstreamTry&) = delete;

  // UpstreamTry.
  void prepare(const RequestHead& head, ClusterRuntime& cluster) override;
  TryStart start(UpstreamHost& host) override;
  void sendBody(std::string_view data) override;
  void endBody(const RequestTrailers& trailers) override;
  void resume() override;
  void tick(TimePoint now) override;
  void abandon() override;

 private:
  enum class State { kIdle, kConnecting, kOpen };

  void onConnected(boost::system::error_code ec, uint64_t gen);
  void writeRequest();
  void onRequestWritten(boost::system::error_code ec, uint64_t gen);
  void onRequestSent();
  void resetParser();
  void readResponse();
  void onResponseRead(boost::system::error_code ec, std::size_t n, uint64_t gen);
  void relayResponse();
  void handOverUpgrade(std::size_t head_bytes);
  void complete();
  // The try ends without a response: the connection closes, the exchange hears why.
  void fail(TryError kind, bool processed, const std::string& detail);
  void lost(boost::system::error_code ec);

  Worker& worker_;
  UpstreamTryEvents& events_;

  // The request (prepare()).
  ClusterRuntime* cluster_ = nullptr;
  std::string up_head_;  // the request head for the upstream
  bool chunked_ = false;
  bool has_body_ = false;
  bool head_request_ = false;
  bool upgrade_ = false;  // the request asks for a protocol switch (RequestHead::upgrade)

  // The try (start()).
  State state_ = State::kIdle;
  uint64_t gen_ = 0;  // a new value for every try and every abandon: stale handlers see it
  UpstreamHost* host_ = nullptr;
  std::unique_ptr<UpstreamConnection> up_;
  TimePoint connect_deadline_ = TimePoint::max();

  // Request side.
  std::string pending_;  // body bytes not yet written
  bool body_ended_ = false;
  const RequestTrailers* trailers_ = nullptr;
  std::string writing_body_;  // body bytes of the write in flight
  std::string framing_;       // chunk header of the write in flight
  std::string tail_;          // chunk end, last chunk, trailers of the write in flight
  std::array<boost::asio::const_buffer, 4> bufs_;  // head, chunk header, body, tail
  std::size_t nbufs_ = 0;
  bool writing_ = false;
  bool head_sent_ = false;
  bool tail_sent_ = false;       // the end of the request was written
  bool write_has_tail_ = false;  // the write in flight ends the request

  // Response side.
  ParseEvents resp_;
  std::optional<ResponseParser> resp_parser_;
  std::vector<HeaderField> out_fields_;  // end-to-end fields of the head or trailers
  bool headed_ = false;                  // the final head went to the exchange
  bool reading_ = false;
  bool paused_ = false;
  bool upstream_eof_ = false;
};

}  // namespace switchyard::proxy
