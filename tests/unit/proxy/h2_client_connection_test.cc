// H2ClientConnection and H2ClientPool against a real nghttp2 server (tests/support/h2_backend),
// driven on the test's own io_context.

#include "proxy/h2_client_connection.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>

#include "proxy/h2_client_pool.h"
#include "proxy/upstream_host.h"
#include "tests/support/free_port.h"
#include "tests/support/h2_backend.h"

namespace switchyard::proxy {
namespace {

using namespace std::chrono_literals;
using support::H2Backend;
using support::H2BackendBehavior;

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// Records what a stream hears; consumes response bytes only when told to.
class Recorder final : public H2StreamHandler {
 public:
  void onH2Head(unsigned s, const H2Headers& h, bool) override {
    status = s;
    headers = h;
  }
  void onH2Data(std::string_view d) override {
    body.append(d);
    unconsumed += d.size();
    if (auto_consume && conn) {
      conn->consume(id, unconsumed);
      unconsumed = 0;
    }
  }
  void onH2Trailers(const H2Headers& t) override { trailers = t; }
  void onH2End() override { ended = true; }
  void onH2Fail(H2Failure f, uint32_t c, std::string_view) override {
    failure = f;
    code = c;
    failed = true;
  }
  void onH2BodyWritable() override {}

  H2ClientConnection* conn = nullptr;
  int32_t id = 0;
  bool auto_consume = true;
  unsigned status = 0;
  H2Headers headers, trailers;
  std::string body;
  std::size_t unconsumed = 0;
  bool ended = false, failed = false;
  H2Failure failure = H2Failure::kLost;
  uint32_t code = 0;
};

tcp::endpoint at(uint16_t port) { return {asio::ip::make_address("127.0.0.1"), port}; }

H2Headers get(std::string path) {
  return {{":method", "GET"}, {":scheme", "http"}, {":authority", "test"}, {":path", path}};
}

// Runs the context until `done` holds or `bound` passes.
template <class Pred>
bool runUntil(asio::io_context& ctx, Pred done, std::chrono::milliseconds bound = 5s) {
  const auto deadline = std::chrono::steady_clock::now() + bound;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    ctx.restart();
    ctx.run_for(5ms);
  }
  return true;
}

std::shared_ptr<H2ClientConnection> open(asio::io_context& ctx, uint16_t port,
                                         H2ClientConnection::Options options = {}) {
  auto c = std::make_shared<H2ClientConnection>(ClientStream(tcp::socket(ctx)), at(port), options);
  c->connect();
  return c;
}

// One GET on `conn`, the context run until it is answered: its status, 0 when it was not.
unsigned getOne(asio::io_context& ctx, H2ClientConnection& conn) {
  Recorder rec;
  rec.id = conn.submit(get("/"), false, &rec);
  if (rec.id <= 0 || !runUntil(ctx, [&] { return rec.ended || rec.failed; })) return 0;
  return rec.ended ? rec.status : 0;
}

H2ClientConnection::Options keepalive(uint32_t interval_ms, uint32_t timeout_ms) {
  H2ClientConnection::Options o;
  o.keepalive_interval_ms = interval_ms;
  o.keepalive_timeout_ms = timeout_ms;
  return o;
}

TEST(H2ClientConnectionTest, StreamsShareTheConnectionAtOnce) {
  H2Backend backend("b");
  auto slow = H2BackendBehavior::fixed();
  slow.delay = 100ms;
  backend.setBehavior(slow);
  asio::io_context ctx;
  auto conn = open(ctx, backend.port());
  std::vector<Recorder> r(10);
  for (auto& rec : r) {
    rec.conn = conn.get();
    rec.id = conn->submit(get("/"), false, &rec);
    ASSERT_GT(rec.id, 0);
  }
  EXPECT_EQ(conn->activeStreams(), 10u);
  ASSERT_TRUE(runUntil(ctx, [&] {
    for (auto& rec : r)
      if (!rec.ended) return false;
    return true;
  }));
  for (auto& rec : r) {
    EXPECT_EQ(rec.status, 200u);
    EXPECT_EQ(rec.body, "hello from b");
  }
  EXPECT_EQ(backend.connectionCount(), 1u);
  EXPECT_EQ(backend.maxConcurrentSeen(), 10u);
  EXPECT_EQ(conn->activeStreams(), 0u);
}

TEST(H2ClientConnectionTest, TheResponseWindowReopensOnlyAsTheConsumerTakesBytes) {
  H2Backend backend("b");
  backend.setBehavior(H2BackendBehavior::fixed(200, std::string(1 << 20, 'x')));
  asio::io_context ctx;
  H2ClientConnection::Options options;
  options.stream_window = 64 * 1024;
  auto conn = std::make_shared<H2ClientConnection>(ClientStream(tcp::socket(ctx)),
                                                   at(backend.port()), options);
  conn->connect();
  Recorder rec;
  rec.conn = conn.get();
  rec.auto_consume = false;
  rec.id = conn->submit(get("/"), false, &rec);
  ASSERT_TRUE(runUntil(ctx, [&] { return rec.body.size() >= 64 * 1024; }));
  // Nothing consumed: the server is held at the stream window, however long we wait.
  runUntil(
      ctx, [] { return false; }, 200ms);
  EXPECT_EQ(rec.body.size(), 64u * 1024);
  EXPECT_FALSE(rec.ended);
  // Taking the bytes lets the rest come.
  rec.auto_consume = true;
  conn->consume(rec.id, rec.unconsumed);
  rec.unconsumed = 0;
  ASSERT_TRUE(runUntil(ctx, [&] { return rec.ended; }));
  EXPECT_EQ(rec.body.size(), 1u << 20);
}

TEST(H2ClientConnectionTest, ARequestBodyAndTrailersGoOutInPieces) {
  H2Backend backend("b");
  backend.setBehavior(H2BackendBehavior::echo());
  asio::io_context ctx;
  auto conn = open(ctx, backend.port());
  Recorder rec;
  rec.conn = conn.get();
  H2Headers head = get("/echo");
  head[0].value = "POST";
  rec.id = conn->submit(head, true, &rec);
  conn->sendData(rec.id, "one,");
  ASSERT_TRUE(runUntil(ctx, [&] { return rec.body == "one,"; }));  // echoed before the end
  conn->sendData(rec.id, std::string(300000, 'y'));                // more than the server's window
  conn->endBody(rec.id, {{"x-trailer", "t"}});
  ASSERT_TRUE(runUntil(ctx, [&] { return rec.ended; }));
  EXPECT_EQ(rec.body.size(), 4u + 300000u);
  ASSERT_EQ(rec.trailers.size(), 1u);
  EXPECT_EQ(rec.trailers[0].name, "grpc-status");
  ASSERT_TRUE(backend.waitForRequests(1, 2s));
  const auto req = backend.requests().at(0);
  ASSERT_EQ(req.trailers.size(), 1u);
  EXPECT_EQ(req.trailers[0].first, "x-trailer");
}

TEST(H2ClientConnectionTest, FailuresSayWhetherTheInstanceSawTheStream) {
  asio::io_context ctx;
  // Nothing listens: a connect failure.
  auto dead = open(ctx, support::freeLoopbackPort());
  Recorder a;
  a.id = dead->submit(get("/"), false, &a);
  ASSERT_TRUE(runUntil(ctx, [&] { return a.failed; }));
  EXPECT_EQ(a.failure, H2Failure::kConnect);
  EXPECT_TRUE(dead->closed());
  EXPECT_TRUE(dead->connectFailed());

  // REFUSED_STREAM: refused, not reset.
  H2Backend backend("b");
  backend.setBehavior(H2BackendBehavior::refuse());
  auto conn = open(ctx, backend.port());
  Recorder b;
  b.id = conn->submit(get("/"), false, &b);
  ASSERT_TRUE(runUntil(ctx, [&] { return b.failed; }));
  EXPECT_EQ(b.failure, H2Failure::kRefused);
  EXPECT_FALSE(conn->closed());  // one stream's refusal leaves the connection up

  // The connection dies with a stream open: lost.
  backend.setBehavior(H2BackendBehavior::closeConnection());
  Recorder c;
  c.id = conn->submit(get("/"), false, &c);
  ASSERT_TRUE(runUntil(ctx, [&] { return c.failed; }));
  EXPECT_EQ(c.failure, H2Failure::kLost);
  EXPECT_TRUE(conn->closed());
  EXPECT_FALSE(conn->canOpenStream());
}

TEST(H2ClientConnectionTest, GoawayRefusesTheStreamsAboveItsLastAndLetsTheOthersFinish) {
  support::H2BackendOptions options;
  options.goaway_after = 2;
  H2Backend backend("b", options);
  auto slow = H2BackendBehavior::fixed();
  slow.delay = 50ms;
  backend.setBehavior(slow);
  asio::io_context ctx;
  auto conn = open(ctx, backend.port());
  std::vector<Recorder> r(4);
  for (auto& rec : r) rec.id = conn->submit(get("/"), false, &rec);
  ASSERT_TRUE(runUntil(ctx, [&] {
    for (auto& rec : r)
      if (!rec.ended && !rec.failed) return false;
    return true;
  }));
  EXPECT_TRUE(r[0].ended);
  EXPECT_TRUE(r[1].ended);
  EXPECT_TRUE(r[2].failed && r[2].failure == H2Failure::kRefused);
  EXPECT_TRUE(r[3].failed && r[3].failure == H2Failure::kRefused);
  EXPECT_FALSE(conn->canOpenStream());
  EXPECT_TRUE(runUntil(ctx, [&] { return conn->closed(); }));
}

routing::Endpoint endpointAt(uint16_t port) {
  routing::Endpoint e;
  e.id = "127.0.0.1:" + std::to_string(port);
  e.address = at(port);
  return e;
}

TEST(H2ClientConnectionTest, GoAwayWhenIdleIsWrittenBeforeTheClose) {
  H2Backend backend("b");
  asio::io_context ctx;
  auto conn = open(ctx, backend.port());
  ASSERT_EQ(getOne(ctx, *conn), 200u);
  conn->goAway();
  EXPECT_FALSE(conn->canOpenStream());
  ASSERT_TRUE(runUntil(ctx, [&] {
    return conn->closed() && backend.openConnections() == 0 && !backend.goawaysReceived().empty();
  }));
  EXPECT_EQ(backend.goawaysReceived(), std::vector<uint32_t>{0});  // NO_ERROR
}

TEST(H2ClientConnectionTest, AnUnansweredKeepalivePingFailsTheOpenStreamsAsLost) {
  H2Backend backend("b");
  asio::io_context ctx;
  auto conn = open(ctx, backend.port(), keepalive(100, 200));
  ASSERT_EQ(getOne(ctx, *conn), 200u);
  backend.setFrozen(true);
  Recorder held;
  held.id = conn->submit(get("/"), false, &held);
  const auto frozen_at = std::chrono::steady_clock::now();
  // Dead at the latest 100 ms (PING due) + 200 ms (no answer) after the last byte received.
  ASSERT_TRUE(runUntil(
      ctx, [&] { return held.failed; }, 3s));
  EXPECT_LT(std::chrono::steady_clock::now() - frozen_at, 2s);
  EXPECT_EQ(held.failure, H2Failure::kLost);
  EXPECT_TRUE(conn->closed());
  EXPECT_GE(conn->pingsSent(), 1u);
  backend.setFrozen(false);
}

TEST(H2ClientConnectionTest, AnsweredKeepalivePingsKeepAQuietConnectionOpen) {
  H2Backend backend("b");
  asio::io_context ctx;
  auto conn = open(ctx, backend.port(), keepalive(50, 2000));
  ASSERT_EQ(getOne(ctx, *conn), 200u);
  // Quiet for ten intervals and more: a PING each time, each answered in time.
  ASSERT_TRUE(runUntil(
      ctx, [&] { return backend.pingsReceived() >= 10; }, 5s));
  EXPECT_FALSE(conn->closed());
  EXPECT_GE(conn->pingsSent(), 10u);
  ASSERT_EQ(getOne(ctx, *conn), 200u);
  EXPECT_EQ(backend.connectionCount(), 1u);
}

TEST(H2ClientConnectionTest, NoKeepalivePingUnlessConfigured) {
  H2Backend backend("b");
  asio::io_context ctx;
  auto conn = open(ctx, backend.port());
  ASSERT_EQ(getOne(ctx, *conn), 200u);
  backend.setFrozen(true);
  // A frozen instance and no keepalive: nothing notices for the whole bound.
  EXPECT_FALSE(runUntil(
      ctx, [&] { return conn->closed(); }, 500ms));
  EXPECT_EQ(conn->pingsSent(), 0u);
  backend.setFrozen(false);
}

TEST(H2ClientPoolTest, OpensAnotherConnectionOnlyWhenTheServersLimitIsReached) {
  support::H2BackendOptions options;
  options.max_concurrent_streams = 2;
  H2Backend backend("b", options);
  auto slow = H2BackendBehavior::fixed();
  slow.delay = 100ms;
  backend.setBehavior(slow);
  asio::io_context ctx;
  UpstreamHost host(endpointAt(backend.port()), 10);
  H2ClientPool pool(ctx, host);
  // The first connection's SETTINGS teach the pool the limit.
  Recorder first;
  auto c1 = pool.acquire({});
  first.id = c1->submit(get("/"), false, &first);
  ASSERT_TRUE(runUntil(ctx, [&] { return first.ended; }));
  EXPECT_EQ(c1->maxStreams(), 2u);
  std::vector<Recorder> r(6);
  for (auto& rec : r) rec.id = pool.acquire({})->submit(get("/"), false, &rec);
  EXPECT_EQ(pool.size(), 3u);  // 2 + 2 + 2
  EXPECT_EQ(host.stats.connections_open, 3);
  ASSERT_TRUE(runUntil(ctx, [&] {
    for (auto& rec : r)
      if (!rec.ended) return false;
    return true;
  }));
  EXPECT_EQ(backend.maxConcurrentSeen(), 2u);

  // Idle connections part at the idle cutoff: GOAWAY(NO_ERROR) each, then the close.
  pool.closeIdleBefore(TimePoint::max());
  ASSERT_TRUE(runUntil(ctx, [&] {
    return pool.size() == 0 && backend.openConnections() == 0 &&
           backend.goawaysReceived().size() == 3;
  }));
  EXPECT_EQ(backend.goawaysReceived(), std::vector<uint32_t>(3, 0));
  EXPECT_EQ(host.stats.connections_open, 0);
  EXPECT_EQ(host.stats.connects, 3u);
}

TEST(H2ClientPoolTest, AConnectionFoundDeadByKeepaliveIsReplacedForNewStreams) {
  H2Backend backend("b");
  asio::io_context ctx;
  UpstreamHost host(endpointAt(backend.port()), 10);
  H2ClientPool pool(ctx, host);
  const auto options = keepalive(100, 200);
  auto c1 = pool.acquire(options);
  ASSERT_EQ(getOne(ctx, *c1), 200u);
  backend.setFrozen(true);
  ASSERT_TRUE(runUntil(
      ctx, [&] { return pool.size() == 0; }, 3s));
  EXPECT_TRUE(c1->closed());
  EXPECT_EQ(host.stats.connections_open, 0);
  backend.setFrozen(false);
  auto c2 = pool.acquire(options);
  ASSERT_NE(c2, c1);
  ASSERT_EQ(getOne(ctx, *c2), 200u);
  EXPECT_EQ(backend.connectionCount(), 2u);
}

TEST(H2ClientPoolTest, ADepartedHostTakesNoStreamAndClosesAfterTheLast) {
  H2Backend backend("b");
  auto slow = H2BackendBehavior::fixed();
  slow.delay = 100ms;
  backend.setBehavior(slow);
  asio::io_context ctx;
  UpstreamHost host(endpointAt(backend.port()), 10);
  host.h2 = std::make_unique<H2ClientPool>(ctx, host);
  auto conn = host.h2->acquire({});
  Recorder rec;
  rec.id = conn->submit(get("/"), false, &rec);
  ASSERT_TRUE(runUntil(ctx, [&] { return conn->connected(); }));
  host.depart();
  EXPECT_EQ(host.h2->acquire({}), nullptr);
  EXPECT_FALSE(conn->canOpenStream());
  EXPECT_FALSE(conn->closed());  // the stream in flight finishes
  ASSERT_TRUE(runUntil(ctx, [&] { return rec.ended; }));
  EXPECT_EQ(rec.status, 200u);
  ASSERT_TRUE(runUntil(ctx, [&] { return conn->closed(); }));
  EXPECT_EQ(host.stats.connections_open, 0);
}

TEST(H2ClientConnectionTest, TheStreamsOfOneLoopTurnGoOutInOneWrite) {
  H2Backend backend("b");
  asio::io_context ctx;
  auto conn = open(ctx, backend.port());
  ASSERT_EQ(getOne(ctx, *conn), 200u);  // connected, SETTINGS exchanged: the connection is idle
  const uint64_t before = conn->writes();
  std::vector<Recorder> r(50);
  for (auto& rec : r) {  // as 50 client connections' requests handled in one turn would be
    rec.conn = conn.get();
    rec.id = conn->submit(get("/"), false, &rec);
    ASSERT_GT(rec.id, 0);
  }
  EXPECT_EQ(conn->writes(), before);  // nothing written yet: the flush waits for the turn's end
  ASSERT_TRUE(runUntil(ctx, [&] {
    for (auto& rec : r)
      if (!rec.ended) return false;
    return true;
  }));
  for (auto& rec : r) EXPECT_EQ(rec.status, 200u);
  EXPECT_EQ(conn->writes() - before, 1u);  // 50 HEADERS frames, one write
}

TEST(H2ClientConnectionTest, EachResponseHeadHasItsOwnFieldsOnly) {
  // The connection keeps one buffer for the header block being received: a short head after a
  // long one must not carry the long one's fields over.
  H2Backend backend("b");
  backend.setHandler([](const support::H2BackendRequest& req) {
    auto b = H2BackendBehavior::fixed();
    if (req.path == "/long")
      b.headers = {{"x-first", std::string(100, 'a')}, {"x-second", "2"}, {"x-third", "3"}};
    else
      b.headers = {{"x-only", "short"}};
    return b;
  });
  asio::io_context ctx;
  auto conn = open(ctx, backend.port());
  auto fieldsOf = [&](const std::string& path) {
    Recorder rec;
    rec.id = conn->submit(get(path), false, &rec);
    EXPECT_TRUE(runUntil(ctx, [&] { return rec.ended || rec.failed; }));
    std::vector<std::string> xs;
    for (const auto& h : rec.headers)
      if (h.name.starts_with("x-")) xs.push_back(h.name + "=" + h.value);
    return xs;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(fieldsOf("/long"), (V{"x-first=" + std::string(100, 'a'), "x-second=2", "x-third=3"}));
  EXPECT_EQ(fieldsOf("/short"), (V{"x-only=short"}));
  EXPECT_EQ(fieldsOf("/long"), (V{"x-first=" + std::string(100, 'a'), "x-second=2", "x-third=3"}));
}

}  // namespace
}  // namespace switchyard::proxy
