#pragma once
// One HTTP/2 stream of an H2ServerSession: the request as it is decoded, the UpstreamRequest
// that carries it, and the response waiting for nghttp2's data provider. It is the exchange's
// ResponseSink and turns each event into an nghttp2 submission on its session. Owned by the
// session (created at the stream's first HEADERS, destroyed when nghttp2 closes the stream).
// Worker thread only.

#include <nghttp2/nghttp2.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "proxy/upstream_request.h"

namespace switchyard::proxy {

class H2ServerSession;

class H2Stream final : public ResponseSink {
 public:
  H2Stream(H2ServerSession& session, int32_t id) : session_(session), id_(id) {}
  ~H2Stream() override;

  int32_t id() const { return id_; }

  // ResponseSink.
  void onResponseHead(unsigned status, const std::vector<HeaderField>& fields) override;
  bool onResponseData(std::string_view data) override;
  void onResponseTrailers(const std::vector<HeaderField>& trailers) override;
  void onResponseEnd() override;
  void onGatewayError(unsigned status, std::string_view cause, std::string_view detail) override;
  void onResponseReset(std::string_view cause) override;
  void onRequestBodyConsumed(std::size_t n) override;

  // nghttp2's data source for the response body: copies what is buffered, defers when nothing
  // is, ends the stream (or hands over to the trailers) at the end.
  ssize_t readBody(uint8_t* buf, std::size_t length, uint32_t* data_flags);

  // Request side, filled by the session's nghttp2 callbacks.
  RequestHead head;
  std::vector<std::pair<std::string, std::string>> trailers;
  uint32_t header_bytes = 0;    // name + value + 32 per field (RFC 9113 6.5.2)
  bool header_too_large = false;
  bool headers_done = false;    // the request head is complete
  bool request_ended = false;   // the client sent END_STREAM
  bool head_request = false;    // HEAD: answers carry no body
  uint64_t body_received = 0;
  std::size_t unconsumed = 0;   // DATA bytes received whose window is not given back yet
  std::shared_ptr<UpstreamRequest> exchange;

  // Response side.
  bool responded = false;       // a response head was submitted
  bool exchange_paused = false; // onResponseData asked the exchange to wait
  bool response_ended = false;

 private:
  // The gateway's own answer on this stream (no exchange involved).
  friend class H2ServerSession;
  // `nva` holds the fields after a free first slot, which becomes :status.
  void submitHead(unsigned status, std::vector<nghttp2_nv>& nva, bool with_body);

  H2ServerSession& session_;
  const int32_t id_;
  std::string body_;           // response bytes not yet taken by nghttp2
  std::size_t body_offset_ = 0;
  bool deferred_ = false;      // readBody returned NGHTTP2_ERR_DEFERRED
  std::vector<std::pair<std::string, std::string>> resp_trailers_;
};

}  // namespace switchyard::proxy
