#include "proxy/ctl_command.h"

#include <gtest/gtest.h>

namespace switchyard::proxy {
namespace {

TEST(CtlCommandTest, RendersTheClustersTable) {
  const std::string json = R"({"ready": true, "clusters": [
    {"name": "web", "discovery": "serverset:/web", "ready": true, "load_balancer": "round_robin",
     "instances": [
       {"address": "10.0.0.1:80", "shard": 3, "status": "alive", "weight": 2.5, "in_flight": 1,
        "requests": 120, "latency_p99_ms": 4.25},
       {"address": "10.0.0.2:80", "status": "draining", "operator_drained": true, "weight": 0,
        "health": "healthy", "in_flight": 0, "requests": 7, "latency_p99_ms": 0}]},
    {"name": "empty", "discovery": "static", "ready": false, "instances": []}]})";
  auto table = renderClustersTable(json);
  ASSERT_TRUE(table) << table.error().message;
  EXPECT_EQ(
      table.value(),
      "cluster web  (round_robin, serverset:/web)\n"
      "  INSTANCE     SHARD  STATUS               WEIGHT  HEALTH   IN-FLIGHT  REQUESTS  P99 MS\n"
      "  10.0.0.1:80  3      alive                2.5     -        1          120       4.25\n"
      "  10.0.0.2:80  -      draining (operator)  0       healthy  0          7         0\n"
      "cluster empty  (?, static, not read yet)\n"
      "  INSTANCE  SHARD  STATUS  WEIGHT  HEALTH  IN-FLIGHT  REQUESTS  P99 MS\n"
      "  (no instance)\n");
}

TEST(CtlCommandTest, RefusesWhatIsNotAClustersDocument) {
  EXPECT_FALSE(renderClustersTable("not json"));
  EXPECT_FALSE(renderClustersTable(R"({"clusters": 1})"));
}

TEST(CtlCommandTest, SaysWhenNoGatewayAnswers) {
  // Port 1 on loopback: nothing listens there.
  auto r = adminRequest("127.0.0.1:1", "GET", "/clusters", "", "", std::chrono::seconds(2));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("cannot connect to the admin API at 127.0.0.1:1"),
            std::string::npos)
      << r.error().message;
  EXPECT_FALSE(adminRequest("nonsense", "GET", "/", "", "", std::chrono::seconds(1)));
}

}  // namespace
}  // namespace switchyard::proxy
