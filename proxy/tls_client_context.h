#pragma once
// The TLS client side towards one cluster's instances (a cluster's `tls:`, or protocol h2):
// TLS 1.2+, the instances' certificates verified against the configured CA file or the system
// store, SNI and the name checked per connection, ALPN as the upstream protocol needs.
//
// Immutable once created, shared by every worker; built on the control thread at start and
// at each reload (TlsContextSet). The HTTP/2 upstream client gets its context from create() with
// alpn {"h2"}, and its connection from ClientStream's client-side constructor.

#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "config/config.h"

struct ssl_st;

namespace switchyard::proxy {

class TlsClientContext {
 public:
  // `alpn`: the protocols offered, in order ("http/1.1", "h2"); empty = no ALPN. The error names
  // the CA file and says what is wrong with it.
  static Result<std::shared_ptr<const TlsClientContext>> create(const config::UpstreamTls& tls,
                                                                std::vector<std::string> alpn);
  // The context a cluster's connections use: its tls settings (defaults for protocol h2 without
  // them), ALPN by protocol (http1: "http/1.1", h2: "h2").
  static Result<std::shared_ptr<const TlsClientContext>> forCluster(const config::Cluster& c);

  // Sets SNI and the name to verify on a new connection to `instance` ("host:port", the
  // endpoint's id): server_name when configured, else the instance's host. A DNS name is sent
  // as SNI and matched against DNS SANs; an IP address is matched against IP SANs, without SNI.
  void prepare(ssl_st* ssl, std::string_view instance) const;

  boost::asio::ssl::context& asioContext() const { return ctx_; }
  const config::UpstreamTls& settings() const { return settings_; }
  bool verifies() const { return settings_.verify; }

 private:
  TlsClientContext();

  mutable boost::asio::ssl::context ctx_;
  config::UpstreamTls settings_;
};

}  // namespace switchyard::proxy
