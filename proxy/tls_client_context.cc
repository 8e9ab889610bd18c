#include "proxy/tls_client_context.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/ip/address.hpp>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "common/host_port.h"
#include "proxy/tls_server_context.h"

namespace switchyard::proxy {

namespace ssl = boost::asio::ssl;

TlsClientContext::TlsClientContext() : ctx_(ssl::context::tls_client) {}

Result<std::shared_ptr<const TlsClientContext>> TlsClientContext::create(
    const config::UpstreamTls& tls, std::vector<std::string> alpn) {
  std::shared_ptr<TlsClientContext> self(new TlsClientContext());
  self->settings_ = tls;
  SSL_CTX* ctx = self->ctx_.native_handle();
  ERR_clear_error();
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  if (tls.verify) {
    if (tls.ca.empty()) {
      if (SSL_CTX_set_default_verify_paths(ctx) != 1)
        return makeError("the system's CA store: " + takeOpenSslError());
    } else {
      std::ifstream in(tls.ca);
      if (!in) return makeError("ca " + tls.ca + ": cannot read it: " + std::strerror(errno));
      if (SSL_CTX_load_verify_locations(ctx, tls.ca.c_str(), nullptr) != 1)
        return makeError("ca " + tls.ca + ": not a PEM certificate bundle: " + takeOpenSslError());
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  } else {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  }
  if (!alpn.empty()) {
    std::string wire;
    for (const auto& p : alpn) {
      wire.push_back(static_cast<char>(p.size()));
      wire += p;
    }
    // Unlike most of OpenSSL, 0 is success here.
    if (SSL_CTX_set_alpn_protos(ctx, reinterpret_cast<const unsigned char*>(wire.data()),
                                static_cast<unsigned int>(wire.size())) != 0)
      return makeError("ALPN: " + takeOpenSslError());
  }
  ERR_clear_error();
  return std::shared_ptr<const TlsClientContext>(std::move(self));
}

Result<std::shared_ptr<const TlsClientContext>> TlsClientContext::forCluster(
    const config::Cluster& c) {
  const config::UpstreamTls settings = c.tls.value_or(config::UpstreamTls{});
  return create(settings, {c.protocol == config::UpstreamProtocol::kH2 ? "h2" : "http/1.1"});
}

void TlsClientContext::prepare(SSL* ssl, std::string_view instance) const {
  std::string name = settings_.server_name;
  if (name.empty()) {
    auto hp = parseHostPort(instance);
    name = hp ? hp.value().host : std::string(instance);
  }
  boost::system::error_code ec;
  const auto ip = boost::asio::ip::make_address(name, ec);
  if (ec) SSL_set_tlsext_host_name(ssl, name.c_str());
  if (!settings_.verify) return;
  if (!ec) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), ip.to_string().c_str());
  } else {
    X509_VERIFY_PARAM_set_hostflags(SSL_get0_param(ssl), X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    SSL_set1_host(ssl, name.c_str());
  }
}

}  // namespace switchyard::proxy
