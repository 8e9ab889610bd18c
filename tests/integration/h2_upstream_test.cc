// Upstream HTTP/2 (issue 6): clusters with `protocol: h2c` or `h2`.

#include <gtest/gtest.h>

#include "tests/support/free_port.h"
#include "tests/support/switchyard_process.h"
#include "tests/support/temp_dir.h"

namespace switchyard::support {
namespace {

using namespace std::chrono_literals;

// Until the HTTP/2 client is wired in, an h2c cluster must be refused plainly rather than be
// spoken to in HTTP/1.1.
TEST(H2UpstreamTest, ServeRefusesAnH2cClusterItCannotSpeak) {
  TempDir dir;
  const std::string config = fillTemplate(R"(
listeners:
  - name: web
    address: "127.0.0.1:${LISTEN}"
    routes:
      - match: { path_prefix: "/" }
        cluster: grpc
clusters:
  - name: grpc
    protocol: h2c
    discovery: { static: ["127.0.0.1:1"] }
admin:
  address: "127.0.0.1:${ADMIN}"
)",
                                          {{"LISTEN", std::to_string(freeLoopbackPort())},
                                           {"ADMIN", std::to_string(freeLoopbackPort())}});
  const auto path = dir.writeFile("switchyard.yaml", config);
  const auto r = SwitchyardProcess::run({"serve", "--config", path}, 10s);
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_code, 1) << r.output();
  EXPECT_NE(r.err.find("cluster \"grpc\": protocol h2c is not supported yet"), std::string::npos)
      << r.output();
}

}  // namespace
}  // namespace switchyard::support
