#pragma once
// A try of an UpstreamRequest on an HTTP/2 upstream (clusters with protocol h2c or h2): a
// stream on a connection from the instance's H2ClientPool (the pool connects, over TLS with
// ALPN "h2" for h2). It turns the stream's H2StreamHandler callbacks into the exchange's try
// events (upstream_try.h): the request body goes to the connection's per-stream buffer and is
// reported consumed as the connection frames it; response DATA stays unconsumed, its window
// closed, while the exchange holds back. Stream failures map to TryError: REFUSED_STREAM and
// streams above a GOAWAY's last_stream_id are kRefused (nothing processed), a connection that
// never came up kConnect or kTls, RST_STREAM kReset, a connection lost with the stream open
// kLost. Worker thread only; embedded in its UpstreamRequest.

#include <boost/container/small_vector.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/h2_client_connection.h"
#include "proxy/upstream_try.h"

namespace switchyard::proxy {

class Worker;

class H2UpstreamTry final : public UpstreamTry, private H2StreamHandler {
 public:
  H2UpstreamTry(Worker& worker, UpstreamTryEvents& events) : worker_(worker), events_(events) {}
  ~H2UpstreamTry() override { abandon(); }
  H2UpstreamTry(const H2UpstreamTry&) = delete;
  H2UpstreamTry& operator=(const H2UpstreamTry&) = delete;

  // The HTTP/2 request head, by reference into `head` (which outlives the tries): pseudo-headers,
  // the fields an HTTP/2 request may carry (te only as "trailers"), X-Forwarded-For/-Proto.
  // `scheme` is the upstream's ("http" for h2c). The X-Forwarded-For value is kept in `xff`.
  using HeaderRefs = boost::container::small_vector<H2HeaderRef, 16>;
  static void requestHeaders(const RequestHead& head, std::string_view scheme, std::string& xff,
                             HeaderRefs& out);

  // UpstreamTry.
  void prepare(const RequestHead& head, ClusterRuntime& cluster) override;
  TryStart start(UpstreamHost& host) override;
  void sendBody(std::string_view data) override;
  void endBody(const RequestTrailers& trailers) override;
  void resume() override;
  void tick(TimePoint) override {}  // the connection keeps its own connect deadline
  void abandon() override;

 private:
  void reportConsumed();
  void failed(TryError kind, bool processed, std::string_view detail);

  // H2StreamHandler.
  void onH2Head(unsigned status, const H2Headers& headers, bool end_stream) override;
  void onH2Data(std::string_view data) override;
  void onH2Trailers(const H2Headers& trailers) override;
  void onH2End() override;
  void onH2Fail(H2Failure failure, uint32_t code, std::string_view detail) override;
  void onH2BodyWritable() override;

  Worker& worker_;
  UpstreamTryEvents& events_;

  // The request (prepare()).
  ClusterRuntime* cluster_ = nullptr;
  // Inline up to 16 fields: a request's head is passed on without an allocation of ours.
  HeaderRefs headers_;
  std::string xff_;
  bool has_body_ = false;

  // The try (start()).
  std::shared_ptr<H2ClientConnection> conn_;
  int32_t stream_id_ = 0;
  uint64_t gen_ = 0;            // a new value for every try and every abandon
  uint64_t given_ = 0;          // body bytes handed to the connection
  uint64_t reported_ = 0;       // ... of them reported consumed
  std::size_t unconsumed_ = 0;  // response bytes held back: their window waits for resume()
  bool headed_ = false;         // the final head arrived
  std::vector<HeaderField> fields_;
};

}  // namespace switchyard::proxy
