#pragma once
// The seam between an UpstreamRequest (the exchange: routing, picks, retries, the replay
// buffer, the retry budget, the outlier feed, load accounting, deadlines and the access log)
// and one try of its request on one instance, in the upstream's protocol: Http1UpstreamTry (a
// connection from the instance's pool) or H2UpstreamTry (a stream on the instance's
// H2ClientPool). A try moves bytes and reports what happened; every decision is the exchange's.
// Worker thread only.
//
// The exchange owns one try object per request and reuses it for every try (start() again
// after a failure); a try keeps the exchange alive across its asynchronous operations through
// UpstreamTryEvents::keepAlive().
//
// Re-entrancy: any event may end the try (the exchange abandons it, fails, or retries, which
// starts the same object again on another instance). After calling an event, an implementation
// touches none of its per-try state unless it sees that the try is still the same one.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/time_source.h"
#include "proxy/http1_parser.h"

namespace switchyard::proxy {

class ClusterRuntime;
class UpstreamHost;
struct RequestHead;
struct UpstreamConnection;

using RequestTrailers = std::vector<std::pair<std::string, std::string>>;

// Why a try ended without a complete response.
enum class TryError {
  kConnect,    // no connection to the instance (refused, unreachable, timed out)
  kTls,        // the TLS handshake failed (verification, no "h2" by ALPN)
  kRefused,    // the instance refused the request unprocessed (HTTP/2 REFUSED_STREAM, GOAWAY)
  kReset,      // the instance reset the request (HTTP/2 RST_STREAM, a stream ended unanswered)
  kTimeout,    // the exchange's per-try deadline passed (raised by the exchange itself)
  kLost,       // the connection ended or failed with the request open
  kMalformed,  // the response broke the protocol (never retried: the instance means it)
};

struct TryFault {
  TryError kind = TryError::kLost;
  // The instance may have acted on the request. False for kConnect, kTls and kRefused: such a
  // try may move to another instance whatever the method, without spending retry budget.
  bool processed = true;
  // HTTP/1.1: the try ran on a pooled keep-alive connection that the instance had closed (the
  // keep-alive race): not the instance's fault, and safe to repeat for an idempotent request.
  bool stale = false;
  // What happened, for the gateway's answer ("connect failed: Connection refused").
  std::string_view detail;
};

// Why start() could not begin a try; the exchange answers at once, with no other try.
enum class TryStart {
  kStarted,
  kConnectionLimit,  // the instance is at max_connections_per_instance (every stream in use)
  kTlsNotLoaded,     // the cluster's TLS client context did not load
};

// What a try tells its exchange, in this order: connected, then (interleaved with body bytes
// consumed and request sent) interim heads, head, data..., trailers, end; or an upgrade after
// the interim heads; or a failure at any point. Calls come from inside try methods or the try's
// I/O handlers.
class UpstreamTryEvents {
 public:
  virtual ~UpstreamTryEvents() = default;
  // The request is on its way: a connection is up (HTTP/1.1), a stream is open (HTTP/2).
  virtual void onTryConnected() = 0;
  // `n` more request body bytes left this try's hands (written, or framed by the HTTP/2
  // connection). A retry sends the body again from its first byte.
  virtual void onTryBodyConsumed(std::size_t n) = 0;
  // All of the request went out (its body ended and was handed on).
  virtual void onTryRequestSent() = 0;
  // An interim 1xx head (HTTP/1.1: 100 Continue, 103 Early Hints); end-to-end fields, valid
  // during the call only. The final head follows.
  virtual void onTryInterimHead(unsigned status, const std::vector<HeaderField>& fields) = 0;
  // The final response head; `fields` are the end-to-end ones, valid during the call only.
  virtual void onTryHead(unsigned status, const std::vector<HeaderField>& fields) = 0;
  // HTTP/1.1, a request with RequestHead::upgrade: the instance switched protocols (101).
  // `fields` are the 101's as received (views into conn->in, which holds the bytes after the
  // head); the connection is the exchange's from here on and the try is over.
  virtual void onTryUpgrade(const std::vector<HeaderField>& fields,
                            std::unique_ptr<UpstreamConnection> conn) = 0;
  // A piece of the body, valid during the call only. False: hold back until resume() (pieces
  // already received may still come; the HTTP/2 window stays closed for them).
  virtual bool onTryData(std::string_view data) = 0;
  virtual void onTryTrailers(const std::vector<HeaderField>& trailers) = 0;
  // The response is complete; the try has given its connection back (or closed it).
  virtual void onTryEnd() = 0;
  // The try is over without a complete response; its connection or stream is gone.
  virtual void onTryFailed(const TryFault& fault) = 0;
  // Held by the try's pending I/O handlers so that the exchange (and the try) outlive them.
  virtual std::shared_ptr<void> keepAlive() = 0;
};

class UpstreamTry {
 public:
  virtual ~UpstreamTry() = default;
  // Once per request, after routing: the request head in the upstream's protocol. `head` and
  // `cluster` outlive the request's tries.
  virtual void prepare(const RequestHead& head, ClusterRuntime& cluster) = 0;
  // A try on `host` (picked and counted by the exchange). Events may come from inside.
  virtual TryStart start(UpstreamHost& host) = 0;
  // More request body (copied); only for a request with a body.
  virtual void sendBody(std::string_view data) = 0;
  // The request body ends; `trailers` outlive the try. Only for a request with a body.
  virtual void endBody(const RequestTrailers& trailers) = 0;
  // The exchange has room for the response again after onTryData said false.
  virtual void resume() = 0;
  // The worker's tick: deadlines the transport keeps itself (HTTP/1.1 connect timeout).
  virtual void tick(TimePoint now) = 0;
  // Gives the try up: its connection closes or its stream is cancelled; no event follows.
  virtual void abandon() = 0;
};

}  // namespace switchyard::proxy
