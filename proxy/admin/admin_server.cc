#include "proxy/admin/admin_server.h"

#include <boost/asio/ip/address.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <fstream>
#include <sstream>

#include "config/config_yaml.h"
#include "proxy/admin/admin_render.h"
#include "proxy/listener_takeover.h"

namespace switchyard::proxy {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {
const auto kStartTime = std::chrono::steady_clock::now();

// The token, read at each mutating call (a rotated file takes effect at once); empty when the
// file cannot be read.
std::string readToken(const std::string& path) {
  std::ifstream in(path);
  if (!in) return {};
  std::stringstream text;
  text << in.rdbuf();
  std::string token = text.str();
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) token.pop_back();
  size_t start = 0;
  while (start < token.size() && std::isspace(static_cast<unsigned char>(token[start]))) ++start;
  return token.substr(start);
}

// Constant-time comparison: the token is a secret.
bool sameSecret(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}
}  // namespace

class AdminServer::Session : public std::enable_shared_from_this<AdminServer::Session> {
 public:
  Session(tcp::socket socket, AdminBackend& backend)
      : socket_(std::move(socket)), backend_(backend) {}

  void start() { read(); }

 private:
  void read() {
    request_ = {};
    parser_.emplace();
    parser_->header_limit(16 * 1024);
    parser_->body_limit(64 * 1024);
    http::async_read(socket_, buffer_, *parser_,
                     [self = shared_from_this()](error_code ec, std::size_t) {
                       if (ec) return self->close();
                       self->request_ = self->parser_->release();
                       self->handle();
                     });
  }

  void handle() {
    const std::string target(request_.target());
    const auto path = target.substr(0, target.find('?'));
    if (isOperatorPath(path)) return handleOperator(path);
    if (request_.method() != http::verb::get && request_.method() != http::verb::head)
      return reply(http::status::method_not_allowed, "text/plain", "method not allowed\n");
    if (path == "/ready") {
      if (backend_.ready()) return reply(http::status::ok, "text/plain", "ready\n");
      std::string body = "not ready: waiting for discovery of";
      for (const auto& c : backend_.clusterStatus())
        if (!c.ready) body += " " + c.name;
      if (auto zk = backend_.zookeeper(); zk && !zk->connected)
        body += " (zookeeper " + zk->servers + ": " + zk->state + ")";
      return reply(http::status::service_unavailable, "text/plain", body + "\n");
    }
    if (path == "/config")
      return reply(http::status::ok, "application/yaml", config::toYaml(*backend_.config()));
    if (path == "/metrics" || path == "/clusters" || path == "/") {
      backend_.collectStats([self = shared_from_this(), path](StatsReport stats) {
        auto config = self->backend_.config();
        auto clusters = self->backend_.clusterStatus();
        auto snapshot = self->backend_.snapshot();
        AdminView v;
        v.config = config.get();
        v.ready = self->backend_.ready();
        v.clusters = &clusters;
        v.snapshot = snapshot.get();
        v.stats = &stats;
        auto zookeeper = self->backend_.zookeeper();
        if (zookeeper) v.zookeeper = &*zookeeper;
        v.uptime_seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - kStartTime).count();
        if (path == "/metrics")
          return self->reply(http::status::ok, "text/plain; version=0.0.4", renderPrometheus(v));
        if (path == "/clusters")
          return self->reply(http::status::ok, "application/json", renderClustersJson(v));
        self->reply(http::status::ok, "text/html; charset=utf-8", renderLivePage(v));
      });
      return;
    }
    reply(http::status::not_found, "text/plain", "not found: " + path + "\n");
  }

  void handleOperator(const std::string& path) {
    if (request_.method() != http::verb::post)
      return replyJson(errorAnswer(405, "use POST for " + path));
    auto config = backend_.config();
    if (!config->admin.token_file.empty()) {
      const std::string token = readToken(config->admin.token_file);
      if (token.empty())
        return replyJson(errorAnswer(503, "admin.token_file " + config->admin.token_file +
                                              " cannot be read or is empty; refusing changes"));
      const auto auth = request_[http::field::authorization];
      constexpr std::string_view kBearer = "Bearer ";
      if (!auth.starts_with(kBearer) || !sameSecret(auth.substr(kBearer.size()), token))
        return replyJson(errorAnswer(401,
                                     "this call needs Authorization: Bearer TOKEN (the "
                                     "content of admin.token_file)"));
    }
    auto snapshot = backend_.snapshot();
    auto parsed = parseOperatorChange(path, request_.body(), *config, *snapshot);
    if (auto* answer = std::get_if<AdminAnswer>(&parsed)) return replyJson(*answer);
    backend_.operatorChange(
        std::get<OperatorChange>(parsed),
        [self = shared_from_this()](AdminAnswer answer) { self->replyJson(answer); });
  }

  void replyJson(const AdminAnswer& answer) {
    if (answer.status == 401) www_authenticate_ = "Bearer";
    reply(static_cast<http::status>(answer.status), "application/json", answer.body);
  }

  void reply(http::status status, std::string_view type, std::string body) {
    response_ = {};
    response_.result(status);
    response_.version(request_.version());
    response_.set(http::field::content_type, type);
    response_.set(http::field::cache_control, "no-store");
    if (!www_authenticate_.empty())
      response_.set(http::field::www_authenticate, std::exchange(www_authenticate_, {}));
    response_.keep_alive(request_.keep_alive());
    response_.body() = std::move(body);
    response_.prepare_payload();
    if (request_.method() == http::verb::head) response_.body().clear();
    http::async_write(socket_, response_, [self = shared_from_this()](error_code ec, std::size_t) {
      if (ec || !self->response_.keep_alive()) return self->close();
      self->read();
    });
  }

  void close() {
    error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }

  tcp::socket socket_;
  AdminBackend& backend_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::request<http::string_body> request_;
  http::response<http::string_body> response_;
  std::string www_authenticate_;  // for the next reply (a 401)
};

AdminServer::AdminServer(asio::io_context& control, AdminBackend& backend)
    : control_(control), backend_(backend), acceptor_(control) {}

AdminServer::~AdminServer() { stop(); }

Result<tcp::endpoint> AdminServer::start(const HostPort& address) {
  error_code ec;
  auto ip = asio::ip::make_address(address.host == "localhost" ? "127.0.0.1" : address.host, ec);
  if (ec) return makeError("admin address " + address.str() + ": not an IP address");
  tcp::endpoint ep(ip, address.port);
  acceptor_.open(ep.protocol(), ec);
  if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(ep, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return makeError("admin address " + address.str() + ": " + ec.message());
  accept();
  return acceptor_.local_endpoint();
}

Result<tcp::endpoint> AdminServer::adopt(int fd) {
  error_code ec;
  acceptor_.assign(protocolOf(fd), fd, ec);
  if (ec) return makeError("admin socket handed over: " + ec.message());
  accept();
  return acceptor_.local_endpoint();
}

void AdminServer::stop() {
  error_code ignored;
  acceptor_.close(ignored);
}

void AdminServer::accept() {
  acceptor_.async_accept([this](error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
    if (!ec) {
      error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      std::make_shared<Session>(std::move(socket), backend_)->start();
    }
    accept();
  });
}

}  // namespace switchyard::proxy
