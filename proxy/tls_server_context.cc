#include "proxy/tls_server_context.h"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace switchyard::proxy {

namespace ssl = boost::asio::ssl;

namespace {

// Mozilla's "intermediate" TLS 1.2 suites (TLS 1.3 keeps OpenSSL's defaults, all AEAD).
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
constexpr long kSessionCacheSize = 20000;
constexpr long kSessionLifetimeSeconds = 300;
constexpr unsigned char kSessionIdContext[] = "switchyard";

constexpr unsigned char kH2[] = {'h', '2'};
constexpr unsigned char kHttp11[] = {'h', 't', 't', 'p', '/', '1', '.', '1'};

// True when the client's ALPN list (wire format) holds `proto`; points *out at it.
bool offered(const unsigned char* in, unsigned int inlen, const unsigned char* proto,
             unsigned char proto_len, const unsigned char** out, unsigned char* outlen) {
  for (unsigned int i = 0; i < inlen;) {
    const unsigned char len = in[i];
    if (i + 1u + len > inlen) return false;
    if (len == proto_len && std::memcmp(in + i + 1, proto, len) == 0) {
      *out = in + i + 1;
      *outlen = len;
      return true;
    }
    i += 1u + len;
  }
  return false;
}

// The server prefers h2 (when served) over http/1.1. A client that offers neither gets no ALPN
// answer and speaks HTTP/1.1 (as curl --no-alpn does).
int selectAlpn(bool h2, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
               unsigned int inlen) {
  if (h2 && offered(in, inlen, kH2, sizeof kH2, out, outlen)) return SSL_TLSEXT_ERR_OK;
  if (offered(in, inlen, kHttp11, sizeof kHttp11, out, outlen)) return SSL_TLSEXT_ERR_OK;
  return SSL_TLSEXT_ERR_NOACK;
}

int selectHttp11(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                 unsigned int inlen, void*) {
  return selectAlpn(false, out, outlen, in, inlen);
}

int selectH2OrHttp11(SSL*, const unsigned char** out, unsigned char* outlen,
                     const unsigned char* in, unsigned int inlen, void*) {
  return selectAlpn(true, out, outlen, in, inlen);
}

// An encrypted key would make OpenSSL prompt on the terminal: refuse instead.
int noPassphrase(char*, int, int, void*) { return 0; }

std::string asn1TimeText(const ASN1_TIME* t) {
  BIO* bio = BIO_new(BIO_s_mem());
  std::string text;
  if (bio && ASN1_TIME_print(bio, t) == 1) {
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    if (n > 0) text.assign(data, static_cast<size_t>(n));
  }
  BIO_free(bio);
  return text;
}

std::string serialText(const X509* cert) {
  BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr);
  std::string text;
  if (bn) {
    char* hex = BN_bn2hex(bn);
    if (hex) text = hex;
    OPENSSL_free(hex);
    BN_free(bn);
  }
  return text;
}

// A file the gateway cannot open gets the system's reason rather than OpenSSL's wording.
Result<bool> checkReadable(const std::string& what, const std::string& path) {
  if (path.empty()) return makeError(what + ": no file given");
  std::ifstream in(path);
  if (!in) return makeError(what + " " + path + ": cannot read it: " + std::strerror(errno));
  return true;
}

}  // namespace

std::string takeOpenSslError() {
  const unsigned long e = ERR_peek_last_error();
  std::string text;
  if (e != 0) {
    const char* reason = ERR_reason_error_string(e);
    const char* lib = ERR_lib_error_string(e);
    text = reason ? reason : "error " + std::to_string(e);
    if (lib) text += std::string(" (") + lib + ")";
  }
  ERR_clear_error();
  return text.empty() ? "unknown OpenSSL error" : text;
}

TlsServerContext::TlsServerContext() : ctx_(ssl::context::tls_server) {}

Result<std::shared_ptr<const TlsServerContext>> TlsServerContext::load(const config::Tls& files,
                                                                       const Options& options) {
  if (auto ok = checkReadable("certificate", files.certificate); !ok) return ok.error();
  if (auto ok = checkReadable("private key", files.private_key); !ok) return ok.error();
  std::shared_ptr<TlsServerContext> self(new TlsServerContext());
  self->files_ = files;
  SSL_CTX* ctx = self->ctx_.native_handle();
  ERR_clear_error();
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(
      ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  // Idle keep-alive connections then hold no read/write buffers.
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  if (SSL_CTX_set_cipher_list(ctx, kTls12Ciphers) != 1)
    return makeError("TLS 1.2 cipher list: " + takeOpenSslError());
  SSL_CTX_set_default_passwd_cb(ctx, noPassphrase);

  if (SSL_CTX_use_certificate_chain_file(ctx, files.certificate.c_str()) != 1)
    return makeError("certificate " + files.certificate +
                     ": not a PEM certificate chain: " + takeOpenSslError());
  if (SSL_CTX_use_PrivateKey_file(ctx, files.private_key.c_str(), SSL_FILETYPE_PEM) != 1) {
    const std::string why = takeOpenSslError();
    if (why.find("bad decrypt") != std::string::npos ||
        why.find("interrupted or cancelled") != std::string::npos ||
        why.find("bad password") != std::string::npos)
      return makeError("private key " + files.private_key +
                       ": is encrypted (a passphrase is not supported): " + why);
    if (why.find("values mismatch") != std::string::npos ||
        why.find("key values mismatch") != std::string::npos)
      return makeError("private key " + files.private_key + " does not match certificate " +
                       files.certificate);
    return makeError("private key " + files.private_key + ": not a PEM private key: " + why);
  }
  if (SSL_CTX_check_private_key(ctx) != 1)
    return makeError("private key " + files.private_key + " does not match certificate " +
                     files.certificate + " (" + takeOpenSslError() + ")");

  // Resumption: a session cache for session ids and tickets (OpenSSL's default, kept on).
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
  SSL_CTX_sess_set_cache_size(ctx, kSessionCacheSize);
  SSL_CTX_set_timeout(ctx, kSessionLifetimeSeconds);
  SSL_CTX_set_session_id_context(ctx, kSessionIdContext, sizeof kSessionIdContext - 1);

  SSL_CTX_set_alpn_select_cb(ctx, options.h2 ? selectH2OrHttp11 : selectHttp11, nullptr);

  if (const X509* cert = SSL_CTX_get0_certificate(ctx)) {
    self->serial_ = serialText(cert);
    self->not_after_ = asn1TimeText(X509_get0_notAfter(cert));
    if (X509_cmp_current_time(X509_get0_notAfter(cert)) < 0)
      self->warnings_.push_back("certificate " + files.certificate + " expired on " +
                                self->not_after_);
    else if (X509_cmp_current_time(X509_get0_notBefore(cert)) > 0)
      self->warnings_.push_back("certificate " + files.certificate + " is not valid before " +
                                asn1TimeText(X509_get0_notBefore(cert)));
  }
  ERR_clear_error();
  return std::shared_ptr<const TlsServerContext>(std::move(self));
}

}  // namespace switchyard::proxy
