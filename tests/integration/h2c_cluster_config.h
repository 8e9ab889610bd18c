#pragma once
// The gateway configuration of the upstream HTTP/2 tests (h2_upstream_test.cc,
// h2_upstream_parting_test.cc): one worker, one http listener routing everything to one h2c
// cluster. ${BACKENDS} is the static list; ${EXTRA} adds cluster keys (4 spaces in).

namespace switchyard::support {

inline constexpr const char* kH2cClusterConfig = R"(
workers: 1
listeners:
  - name: web
    address: "127.0.0.1:${LISTEN}"
    routes:
      - match: { path_prefix: "/" }
        cluster: grpc
clusters:
  - name: grpc
    protocol: h2c
    discovery: { static: [${BACKENDS}] }
    connect_timeout_ms: 500
    request_timeout_ms: 5000
${EXTRA}
admin:
  address: "127.0.0.1:${ADMIN}"
)";

}  // namespace switchyard::support
