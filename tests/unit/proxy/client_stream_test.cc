// ClientStream over real loopback sockets, both ends in this process: plain and TLS reads and
// writes, the handshake with ALPN, gathered writes, verification failures said in words, the
// close_notify of shutdownSend, and destruction with an operation pending (its handler still
// runs, with an error). Certificates come from a TestCa.

#include "proxy/client_stream.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <optional>

#include "proxy/tls_client_context.h"
#include "proxy/tls_server_context.h"
#include "tests/support/free_port.h"
#include "tests/support/test_ca.h"

namespace switchyard::proxy {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using namespace std::chrono_literals;

class ClientStreamTest : public ::testing::Test {
 protected:
  ClientStreamTest() : acceptor_(io_, {asio::ip::make_address("127.0.0.1"), 0}) {}

  uint16_t port() const { return acceptor_.local_endpoint().port(); }
  tcp::endpoint endpoint() const { return acceptor_.local_endpoint(); }
  std::string instance() const { return "127.0.0.1:" + std::to_string(port()); }

  // Runs the loop until `done` holds (or 5 s pass: a failure, never a hang).
  template <class Pred>
  bool runUntil(Pred done) {
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (!done()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      if (io_.stopped()) io_.restart();  // it stops whenever it runs out of work
      io_.run_one_for(50ms);
    }
    return true;
  }

  std::shared_ptr<const TlsServerContext> serverContext(const support::TestCertificate& c) {
    auto loaded = TlsServerContext::load(config::Tls{c.certificate, c.private_key});
    EXPECT_TRUE(loaded) << (loaded ? "" : loaded.error().message);
    return loaded ? loaded.value() : nullptr;
  }
  std::shared_ptr<const TlsClientContext> clientContext(const support::TestCa& ca) {
    config::UpstreamTls tls;
    tls.ca = ca.caCertificate();
    auto created = TlsClientContext::create(tls, {"http/1.1"});
    EXPECT_TRUE(created) << (created ? "" : created.error().message);
    return created ? created.value() : nullptr;
  }

  // Accepts one connection into `server` (TLS with `tls` when given) and handshakes it.
  void acceptInto(std::optional<ClientStream>& server,
                  std::shared_ptr<const TlsServerContext> tls = nullptr) {
    acceptor_.async_accept([this, &server, tls](error_code ec, tcp::socket s) {
      ASSERT_FALSE(ec) << ec.message();
      if (!tls) {
        server.emplace(std::move(s));
        return;
      }
      server.emplace(std::move(s), tls);
      server->asyncHandshake([this](error_code ec) { server_handshake_ = ec; });
    });
  }

  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::optional<error_code> server_handshake_;
  support::TestCa ca_;
};

// Reads into `got` until it holds `want` bytes or the stream fails.
void readAll(ClientStream& s, std::string& got, size_t want, std::optional<error_code>& done) {
  auto buf = std::make_shared<std::array<char, 4096>>();
  s.async_read_some(asio::buffer(*buf), [&s, &got, want, &done, buf](error_code ec, size_t n) {
    got.append(buf->data(), n);
    if (ec || got.size() >= want) {
      done = ec;
      return;
    }
    readAll(s, got, want, done);
  });
}

TEST_F(ClientStreamTest, PlainStreamConnectsAndWritesWholeSequences) {
  std::optional<ClientStream> server;
  acceptInto(server);
  ClientStream client{tcp::socket(io_)};
  std::optional<error_code> connected;
  client.asyncConnect(endpoint(), [&](error_code ec) { connected = ec; });
  ASSERT_TRUE(runUntil([&] { return connected && server; }));
  ASSERT_FALSE(*connected) << connected->message();
  EXPECT_FALSE(client.isTls());
  EXPECT_EQ(client.alpnProtocol(), "");

  const std::string a = "GET ", b = "/x ", c = "HTTP/1.1\r\n\r\n";
  std::vector<asio::const_buffer> pieces = {asio::buffer(a), asio::buffer(b), asio::buffer(c)};
  std::optional<error_code> written;
  size_t written_bytes = 0;
  client.asyncWrite(pieces, [&](error_code ec, size_t n) {
    written = ec;
    written_bytes = n;
  });
  std::string got;
  std::optional<error_code> read_done;
  readAll(*server, got, a.size() + b.size() + c.size(), read_done);
  ASSERT_TRUE(runUntil([&] { return written && read_done; }));
  EXPECT_FALSE(*written);
  EXPECT_EQ(written_bytes, a.size() + b.size() + c.size());
  EXPECT_EQ(got, a + b + c);
}

TEST_F(ClientStreamTest, TlsHandshakeNegotiatesHttp11AndCarriesGatheredAndLargeWrites) {
  std::optional<ClientStream> server;
  acceptInto(server, serverContext(ca_.issue(0x10)));
  ClientStream client(tcp::socket(io_), clientContext(ca_), instance());
  std::optional<error_code> connected;
  client.asyncConnect(endpoint(), [&](error_code ec) { connected = ec; });
  ASSERT_TRUE(runUntil([&] { return connected && server_handshake_; }));
  ASSERT_FALSE(*connected) << client.describeError(*connected);
  ASSERT_FALSE(*server_handshake_) << server_handshake_->message();
  EXPECT_TRUE(client.isTls());
  EXPECT_TRUE(client.handshakeStarted());
  EXPECT_EQ(client.alpnProtocol(), "http/1.1");
  EXPECT_EQ(server->alpnProtocol(), "http/1.1");

  // Small pieces (gathered into one record) and a sequence over the gathering limit.
  const std::string head = "HTTP/1.1 200 OK\r\n", more = "x: y\r\n\r\n";
  const std::string big(300 * 1024, 'b');
  std::vector<asio::const_buffer> pieces = {asio::buffer(head), asio::buffer(more),
                                            asio::buffer(big)};
  std::optional<error_code> written;
  server->asyncWrite(pieces, [&](error_code ec, size_t) { written = ec; });
  std::string got;
  std::optional<error_code> read_done;
  readAll(client, got, head.size() + more.size() + big.size(), read_done);
  ASSERT_TRUE(runUntil([&] { return written && read_done; }));
  EXPECT_FALSE(*written);
  EXPECT_EQ(got.size(), head.size() + more.size() + big.size());
  EXPECT_EQ(got, head + more + big);
}

TEST_F(ClientStreamTest, AVerificationFailureIsSaidInWords) {
  support::TestCa other("Another CA");
  std::optional<ClientStream> server;
  acceptInto(server, serverContext(other.issue(0x11)));
  ClientStream client(tcp::socket(io_), clientContext(ca_), instance());
  std::optional<error_code> connected;
  client.asyncConnect(endpoint(), [&](error_code ec) { connected = ec; });
  ASSERT_TRUE(runUntil([&] { return connected.has_value(); }));
  ASSERT_TRUE(*connected);
  EXPECT_TRUE(client.handshakeStarted());
  EXPECT_EQ(client.describeError(*connected),
            "certificate verification failed: unable to get local issuer certificate");
}

TEST_F(ClientStreamTest, AWrongNameFailsVerification) {
  std::optional<ClientStream> server;
  acceptInto(server, serverContext(ca_.issue(0x12, {.names = {"DNS:elsewhere.example"}})));
  ClientStream client(tcp::socket(io_), clientContext(ca_), instance());
  std::optional<error_code> connected;
  client.asyncConnect(endpoint(), [&](error_code ec) { connected = ec; });
  ASSERT_TRUE(runUntil([&] { return connected.has_value(); }));
  ASSERT_TRUE(*connected);
  EXPECT_EQ(client.describeError(*connected),
            "certificate verification failed: IP address mismatch");
}

TEST_F(ClientStreamTest, ARefusedConnectIsNoTlsFailure) {
  const uint16_t closed = support::freeLoopbackPort();
  ClientStream client(tcp::socket(io_), clientContext(ca_), "127.0.0.1:1");
  std::optional<error_code> connected;
  client.asyncConnect({asio::ip::make_address("127.0.0.1"), closed},
                      [&](error_code ec) { connected = ec; });
  ASSERT_TRUE(runUntil([&] { return connected.has_value(); }));
  EXPECT_EQ(*connected, asio::error::connection_refused);
  EXPECT_FALSE(client.handshakeStarted());
}

TEST_F(ClientStreamTest, ShutdownSendSendsCloseNotify) {
  std::optional<ClientStream> server;
  acceptInto(server, serverContext(ca_.issue(0x13)));
  ClientStream client(tcp::socket(io_), clientContext(ca_), instance());
  std::optional<error_code> connected;
  client.asyncConnect(endpoint(), [&](error_code ec) { connected = ec; });
  ASSERT_TRUE(runUntil([&] { return connected && server_handshake_; }));
  ASSERT_FALSE(*connected);
  bool shutdown_done = false;
  server->shutdownSend([&](error_code) { shutdown_done = true; });
  std::string got;
  std::optional<error_code> read_done;
  readAll(client, got, 1, read_done);
  ASSERT_TRUE(runUntil([&] { return read_done.has_value(); }));
  EXPECT_EQ(*read_done, asio::error::eof) << read_done->message();  // a clean TLS close
  // The server's shutdown waits for the client's close_notify; closing ends it.
  client.close();
  ASSERT_TRUE(runUntil([&] { return shutdown_done; }));
}

TEST_F(ClientStreamTest, DestroyedWithAReadPendingItsHandlerStillRuns) {
  std::optional<ClientStream> server;
  acceptInto(server, serverContext(ca_.issue(0x14)));
  auto client = std::make_unique<ClientStream>(tcp::socket(io_), clientContext(ca_), instance());
  std::optional<error_code> connected;
  client->asyncConnect(endpoint(), [&](error_code ec) { connected = ec; });
  ASSERT_TRUE(runUntil([&] { return connected && server_handshake_; }));
  ASSERT_FALSE(*connected);
  auto buf = std::make_shared<std::array<char, 64>>();
  std::optional<error_code> read_done;
  client->async_read_some(asio::buffer(*buf),
                          [&read_done, buf](error_code ec, size_t) { read_done = ec; });
  io_.poll();
  client.reset();  // the TLS state outlives the pending read, which ends with an error
  ASSERT_TRUE(runUntil([&] { return read_done.has_value(); }));
  EXPECT_TRUE(*read_done);
}

TEST_F(ClientStreamTest, MovedStreamsKeepWorking) {
  std::optional<ClientStream> server;
  acceptInto(server, serverContext(ca_.issue(0x15)));
  ClientStream first(tcp::socket(io_), clientContext(ca_), instance());
  std::optional<error_code> connected;
  first.asyncConnect(endpoint(), [&](error_code ec) { connected = ec; });
  ASSERT_TRUE(runUntil([&] { return connected && server_handshake_; }));
  ClientStream moved(std::move(first));  // as a session hands its connection on
  EXPECT_TRUE(moved.isTls());
  EXPECT_FALSE(first.isTls());  // NOLINT: a moved-from stream is empty
  const std::string hello = "hello";
  std::optional<error_code> written;
  moved.asyncWrite(asio::buffer(hello), [&](error_code ec, size_t) { written = ec; });
  std::string got;
  std::optional<error_code> read_done;
  readAll(*server, got, hello.size(), read_done);
  ASSERT_TRUE(runUntil([&] { return written && read_done; }));
  EXPECT_EQ(got, hello);
}

}  // namespace
}  // namespace switchyard::proxy
