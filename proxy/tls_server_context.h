#pragma once
// The TLS server side of one https listener: its certificate chain and private key (PEM files),
// modern defaults (TLS 1.2 and 1.3 only, forward-secret AEAD ciphers for 1.2, no renegotiation
// or compression), session resumption (a server-side cache and tickets, shared by every worker
// since they share the context), and ALPN selection.
//
// Immutable once loaded, shared between workers (OpenSSL's SSL_CTX is safe to use from several
// threads for new connections). A reload loads a new one; connections keep the one they began
// with (ClientStream holds it).

#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "config/config.h"

namespace switchyard::proxy {

// HTTP/2 over TLS: ALPN selects "h2" when the client offers it (TlsHandshake then hands the
// connection to an H2ServerSession), else "http/1.1". The one switch for it.
inline constexpr bool kServeH2OverTls = true;

class TlsServerContext {
 public:
  struct Options {
    bool h2 = kServeH2OverTls;  // offer "h2" by ALPN (preferred when the client offers it)
  };

  // Loads the files; the error names the file and says what is wrong with it (missing,
  // unreadable, not PEM, encrypted key, key not matching the certificate).
  static Result<std::shared_ptr<const TlsServerContext>> load(const config::Tls& files,
                                                              const Options& options);
  static Result<std::shared_ptr<const TlsServerContext>> load(const config::Tls& files) {
    return load(files, Options{});
  }

  // For asio::ssl::stream's constructor (which takes it by non-const reference; it only reads).
  boost::asio::ssl::context& asioContext() const { return ctx_; }
  const config::Tls& files() const { return files_; }
  // The leaf certificate's serial number (hex) and end of validity, for logs.
  const std::string& serial() const { return serial_; }
  const std::string& notAfter() const { return not_after_; }
  // Things worth saying that do not stop the listener (an expired certificate).
  const std::vector<std::string>& warnings() const { return warnings_; }

 private:
  TlsServerContext();

  mutable boost::asio::ssl::context ctx_;
  config::Tls files_;
  std::string serial_;
  std::string not_after_;
  std::vector<std::string> warnings_;
};

// The first error OpenSSL queued on this thread, as "reason (library)", and clears the queue.
std::string takeOpenSslError();

}  // namespace switchyard::proxy
