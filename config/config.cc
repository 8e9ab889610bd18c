#include "config/config.h"

#include "config/config_names.h"

namespace switchyard::config {

const char* toString(ListenerProtocol p) {
  return nameOf<ListenerProtocol>(kListenerProtocolNames, p);
}
const char* toString(DiscoveryKind k) { return nameOf<DiscoveryKind>(kDiscoveryKindNames, k); }
const char* toString(ServerSetFormat f) {
  return nameOf<ServerSetFormat>(kServerSetFormatNames, f);
}
const char* toString(UpstreamProtocol p) {
  return nameOf<UpstreamProtocol>(kUpstreamProtocolNames, p);
}
const char* toString(LoadBalancerKind k) { return nameOf<LoadBalancerKind>(kLoadBalancerNames, k); }
const char* toString(AccessLogFormat f) {
  return nameOf<AccessLogFormat>(kAccessLogFormatNames, f);
}

}  // namespace switchyard::config
