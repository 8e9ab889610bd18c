#pragma once
// Every TLS context one configuration needs: the server context of each https listener (by
// listener index) and the client context of each cluster that speaks TLS to its instances (by
// cluster name). Built on the control thread at start and at each reload, then posted to the
// workers like a routing snapshot: a connection takes the context current when it begins and
// keeps it (certificates reload for new connections only).

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "proxy/tls_client_context.h"
#include "proxy/tls_server_context.h"

namespace switchyard::proxy {

class TlsContextSet {
 public:
  // Loads every context of `config`. Each one that fails is reported in `errors` ("listener
  // web: certificate ...: ...") and, when `previous` had one for the same listener index or
  // cluster name, taken from there: a bad file at a reload keeps the certificate that works.
  // `warnings` gets what does not stop a listener (an expired certificate).
  static std::shared_ptr<const TlsContextSet> build(const config::Config& config,
                                                    const TlsContextSet* previous,
                                                    std::vector<std::string>& errors,
                                                    std::vector<std::string>& warnings);

  // Null when the listener is not https (or its context never loaded).
  std::shared_ptr<const TlsServerContext> listener(size_t index) const {
    return index < listeners_.size() ? listeners_[index] : nullptr;
  }
  // Null when the cluster speaks no TLS (or its context never loaded).
  std::shared_ptr<const TlsClientContext> cluster(const std::string& name) const {
    auto it = clusters_.find(name);
    return it == clusters_.end() ? nullptr : it->second;
  }

 private:
  std::vector<std::shared_ptr<const TlsServerContext>> listeners_;
  std::map<std::string, std::shared_ptr<const TlsClientContext>, std::less<>> clusters_;
};

}  // namespace switchyard::proxy
