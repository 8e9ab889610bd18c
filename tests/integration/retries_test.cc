// Retries, outlier ejection and slow start on static and file clusters, with the real gateway
// and real backends: a refused instance, one that resets at random, one that hangs, one that
// answers 503; request bodies re-sent only when small; the retry budget bounding the extra load;
// an instance failing in a row ejected; a new instance's share ramping up.

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <random>

#include "tests/support/admin_metrics.h"
#include "tests/support/checksum.h"
#include "tests/support/eventually.h"
#include "tests/support/free_port.h"
#include "tests/support/gateway.h"
#include "tests/support/http_client.h"
#include "tests/support/load_loop.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_backend.h"

namespace switchyard::support {
namespace {

using namespace std::chrono_literals;

// ${EXTRA} is the rest of the cluster's settings.
constexpr const char* kConfig = R"(
workers: ${WORKERS}
listeners:
  - name: web
    address: "127.0.0.1:${LISTEN}"
    routes:
      - match: { path_prefix: "/" }
        cluster: web
clusters:
  - name: web
    discovery: { static: [${BACKENDS}] }
    load_balancer: round_robin
${EXTRA}
admin:
  address: "127.0.0.1:${ADMIN}"
)";

std::string deadAddress() { return "127.0.0.1:" + std::to_string(freeLoopbackPort()); }

// The value of a /metrics sample (first line starting with `prefix`), or -1.
HttpResponse post(uint16_t port, const std::string& body) {
  HttpClient client;
  if (!client.connect(port)) return {};
  return client.roundTrip(HttpClient::buildRequest("POST", "/", {{"Connection", "close"}}, body),
                          ReadOptions());
}

::testing::AssertionResult noFailures(const LoadLoop& load) {
  if (load.failed() == 0) return ::testing::AssertionSuccess();
  auto r = ::testing::AssertionFailure() << load.failed() << " of " << load.sent() << " failed:";
  for (const auto& f : load.failures()) r << "\n  " << f;
  return r;
}

TEST(RetriesTest, ARefusingInstanceCostsNoRequestAndIsEjected) {
  TestBackend a("a"), b("b"), dying("dying");
  Gateway gateway;
  ASSERT_TRUE(gateway.start(
      kConfig, {{"WORKERS", "2"},
                {"BACKENDS", Gateway::addressList({a.address(), b.address(), dying.address()})},
                {"EXTRA",
                 "    outlier_detection: { consecutive_failures: 3, base_ejection_ms: 60000, "
                 "max_ejected_percent: 50 }"}}));
  LoadLoop load(gateway.port());
  // It has answered on both workers: from here on it is judged as any instance.
  ASSERT_TRUE(eventually([&] { return load.byBackend()["dying"] >= 20; }, 20s));
  dying.stop();
  ASSERT_TRUE(load.waitForSuccesses(300, 20s));
  load.stop();
  EXPECT_TRUE(noFailures(load));
  EXPECT_GT(metricSample(gateway.adminPort(), "switchyard_cluster_retries_total"), 0);
  // Three refusals in a row on each worker eject it there: no more than 3 per worker.
  EXPECT_LE(metricSample(gateway.adminPort(),
                         "switchyard_upstream_connect_failures_total{cluster=\"web\",instance=\"" +
                             dying.address()),
            6);
  EXPECT_EQ(
      metricSample(gateway.adminPort(),
                   "switchyard_upstream_ejected{cluster=\"web\",instance=\"" + dying.address()),
      2);
}

TEST(RetriesTest, AnInstanceThatNeverListenedIsStartingCostsNoRequestAndIsTriedAboutOnceASecond) {
  // Announced before it listens (or never comes up): refusals before its first connection back
  // it off briefly instead of ejecting it for long.
  TestBackend a("a"), b("b");
  const std::string dead = deadAddress();
  Gateway gateway;
  ASSERT_TRUE(gateway.start(
      kConfig, {{"WORKERS", "2"},
                {"BACKENDS", Gateway::addressList({a.address(), b.address(), dead})},
                {"EXTRA",
                 "    outlier_detection: { consecutive_failures: 3, base_ejection_ms: 60000, "
                 "max_ejected_percent: 50 }"}}));
  const auto t0 = std::chrono::steady_clock::now();
  LoadLoop load(gateway.port());
  ASSERT_TRUE(load.waitForSuccesses(1000, 20s));
  load.stop();
  const auto seconds =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - t0);
  EXPECT_TRUE(noFailures(load));
  // Back-offs of 0.25, 0.5, then 1 s on each of the 2 workers.
  const int64_t failures =
      metricSample(gateway.adminPort(),
                   "switchyard_upstream_connect_failures_total{cluster=\"web\",instance=\"" + dead);
  EXPECT_GE(failures, 2);
  EXPECT_LE(failures, 2 * (3 + seconds.count() + 1)) << seconds.count() << " s";
  EXPECT_EQ(metricSample(gateway.adminPort(),
                         "switchyard_upstream_ejections_total{cluster=\"web\",instance=\"" + dead),
            0);
  EXPECT_EQ(metricSample(gateway.adminPort(),
                         "switchyard_upstream_starting{cluster=\"web\",instance=\"" + dead),
            2);
}

TEST(RetriesTest, AnInstanceThatResetsAtRandomCostsNoGetAndNoPostIsRepeated) {
  TestBackend a("a"), b("b"), flaky("flaky");
  std::atomic<uint32_t> seed{7};
  flaky.setHandler([&](const BackendRequest&) {
    std::minstd_rand rng(seed.fetch_add(1));
    return rng() % 2 ? BackendBehavior::reset() : BackendBehavior::fixed();
  });
  Gateway gateway;
  ASSERT_TRUE(gateway.start(
      kConfig, {{"WORKERS", "2"},
                {"BACKENDS", Gateway::addressList({a.address(), b.address(), flaky.address()})},
                // Ejection would hide the resets; this test is about retries alone.
                {"EXTRA", "    outlier_detection: { consecutive_failures: 1000 }"}}));
  LoadLoop load(gateway.port());
  ASSERT_TRUE(load.waitForSuccesses(400, 30s));
  load.stop();
  EXPECT_TRUE(noFailures(load));
  EXPECT_GT(flaky.requestCount(), 50u);

  // A POST is not idempotent: a reset is answered 502, and the instance saw it exactly once.
  flaky.setBehavior(BackendBehavior::reset());
  a.setBehavior(BackendBehavior::reset());
  b.setBehavior(BackendBehavior::reset());
  const uint64_t before = a.requestCount() + b.requestCount() + flaky.requestCount();
  HttpResponse r = post(gateway.port(), "order #1");
  EXPECT_EQ(r.status, 502) << r.describe();
  EXPECT_EQ(r.header("x-switchyard-error"), "upstream-reset");
  EXPECT_EQ(a.requestCount() + b.requestCount() + flaky.requestCount(), before + 1);
}

TEST(RetriesTest, AHangingInstanceIsLeftAfterThePerTryTimeout) {
  TestBackend a("a"), hang("hang");
  hang.setBehavior(BackendBehavior::delayed(30s));
  Gateway gateway;
  ASSERT_TRUE(
      gateway.start(kConfig, {{"WORKERS", "1"},
                              {"BACKENDS", Gateway::addressList({a.address(), hang.address()})},
                              {"EXTRA",
                               "    request_timeout_ms: 20000\n"
                               "    retries: { attempts: 2, per_try_timeout_ms: 200 }\n"
                               "    outlier_detection: { consecutive_failures: 1000 }"}}));
  for (int i = 0; i < 10; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    HttpResponse r = HttpClient::get(gateway.port(), "/", {}, 10s);
    ASSERT_EQ(r.status, 200) << r.describe();
    EXPECT_EQ(r.header("x-backend"), "a");
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  }
  EXPECT_GE(hang.requestCount(), 4u);  // round robin sent about half there first
}

TEST(RetriesTest, A503IsRetriedWhenConfiguredWithTheBodyReSentWhenSmall) {
  TestBackend busy("busy"), echo("echo");
  busy.setBehavior(BackendBehavior::fixed(503, "busy"));
  echo.setBehavior(BackendBehavior::echo());
  Gateway gateway;
  ASSERT_TRUE(gateway.start(
      kConfig, {{"WORKERS", "1"},
                {"BACKENDS", Gateway::addressList({busy.address(), echo.address()})},
                {"EXTRA",
                 "    retries: { attempts: 2, on: [connect-failure, reset, \"503\"] }\n"
                 "    outlier_detection: { consecutive_failures: 1000 }"}}));
  const std::string small = Checksum::pattern(0, 60 * 1024);
  Checksum small_sum;
  small_sum.update(small);
  for (int i = 0; i < 6; ++i) {
    HttpResponse r = post(gateway.port(), small);
    ASSERT_EQ(r.status, 200) << r.describe();
    EXPECT_NE(r.body.find(small_sum.hex()), std::string::npos) << r.body;
  }
  EXPECT_GE(busy.requestCount(), 2u);

  // Too large to keep: a try that answered 503 cannot be repeated, so the 503 goes through.
  const std::string large = Checksum::pattern(0, 1024 * 1024);
  int answered_503 = 0;
  for (int i = 0; i < 6; ++i) {
    HttpResponse r = post(gateway.port(), large);
    ASSERT_TRUE(r.ok()) << r.describe();
    if (r.status == 503) ++answered_503;
  }
  EXPECT_GE(answered_503, 2);
}

TEST(RetriesTest, TheBudgetBoundsRetriesWhenEveryInstanceFails) {
  TestBackend a("a"), b("b");
  a.setBehavior(BackendBehavior::fixed(503));
  b.setBehavior(BackendBehavior::fixed(503));
  Gateway gateway;
  ASSERT_TRUE(
      gateway.start(kConfig, {{"WORKERS", "1"},
                              {"BACKENDS", Gateway::addressList({a.address(), b.address()})},
                              {"EXTRA",
                               "    retries: { attempts: 3, on: [\"503\"], budget_percent: 10 }\n"
                               "    outlier_detection: { consecutive_failures: 1000 }"}}));
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 200; ++i) {
    HttpResponse r = HttpClient::get(gateway.port(), "/");
    ASSERT_EQ(r.status, 503) << r.describe();
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  // Without a budget 200 requests would make 600 retries; the budget allows 10 % of the
  // requests of the last 10 s plus a floor of 3 a second of window (30 per 10 s window seen).
  const double allowed = 200 * 0.1 + 30 * (1 + std::ceil(seconds / 10));
  const double retries = metricSample(gateway.adminPort(), "switchyard_cluster_retries_total");
  EXPECT_GE(retries, 30);
  EXPECT_LE(retries, allowed);
  EXPECT_LE(static_cast<double>(a.requestCount() + b.requestCount()), 200 + allowed);
  EXPECT_GT(metricSample(gateway.adminPort(),
                         "switchyard_cluster_retry_budget_exhausted_total{cluster=\"web\"}"),
            0);
}

TEST(RetriesTest, TheDefaultAdaptiveDeadlineMovesAGetOffAHungInstanceWithinASecond) {
  TestBackend a("a"), hang("hang");
  hang.setBehavior(BackendBehavior::delayed(30s));
  Gateway gateway;
  // Every retry and timeout setting is the default (per_try_timeout_ms: auto).
  ASSERT_TRUE(
      gateway.start(kConfig, {{"WORKERS", "1"},
                              {"BACKENDS", Gateway::addressList({a.address(), hang.address()})},
                              {"EXTRA", ""}}));
  for (int i = 0; i < 10; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    HttpResponse r = HttpClient::get(gateway.port(), "/", {}, 10s);
    ASSERT_EQ(r.status, 200) << r.describe();
    EXPECT_EQ(r.header("x-backend"), "a");
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s) << "request " << i;
  }
  EXPECT_GE(hang.requestCount(), 1u);
  EXPECT_GE(metricSample(gateway.adminPort(), "switchyard_cluster_try_timeouts_total"), 1);
}

TEST(RetriesTest, TheAdaptiveDeadlineNeverFailsARequestByItself) {
  // A lone instance slower than the deadline while the cluster's latency is unknown (500 ms):
  // there is nowhere to move, so the try waits for its answer instead of starting over.
  TestBackend slow("slow");
  slow.setBehavior(BackendBehavior::delayed(800ms));
  Gateway gateway;
  ASSERT_TRUE(gateway.start(
      kConfig,
      {{"WORKERS", "1"}, {"BACKENDS", Gateway::addressList({slow.address()})}, {"EXTRA", ""}}));
  const auto t0 = std::chrono::steady_clock::now();
  HttpResponse r = HttpClient::get(gateway.port(), "/", {}, 10s);
  EXPECT_EQ(r.status, 200) << r.describe();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1500ms);
  EXPECT_EQ(slow.requestCount(), 1u);
}

TEST(RetriesTest, APostIsNeverMovedByTheAdaptiveDeadline) {
  TestBackend a("a"), b("b");
  a.setBehavior(BackendBehavior::delayed(700ms));
  b.setBehavior(BackendBehavior::delayed(700ms));
  Gateway gateway;
  ASSERT_TRUE(
      gateway.start(kConfig, {{"WORKERS", "1"},
                              {"BACKENDS", Gateway::addressList({a.address(), b.address()})},
                              {"EXTRA", ""}}));
  for (int i = 0; i < 4; ++i) {
    HttpResponse r = post(gateway.port(), "order #" + std::to_string(i));
    EXPECT_EQ(r.status, 200) << r.describe();
  }
  EXPECT_EQ(a.requestCount() + b.requestCount(), 4u);  // each POST reached one instance once
}

TEST(RetriesTest, OutlierDetectionEjectsAnInstanceFailingInARowAndItComesBack) {
  TestBackend a("a"), bad("bad");
  bad.setBehavior(BackendBehavior::fixed(500));
  Gateway gateway;
  ASSERT_TRUE(gateway.start(
      kConfig, {{"WORKERS", "1"},
                {"BACKENDS", Gateway::addressList({a.address(), bad.address()})},
                {"EXTRA",
                 "    outlier_detection: { consecutive_failures: 3, base_ejection_ms: 1500, "
                 "max_ejected_percent: 50 }"}}));
  int failed = 0;
  for (int i = 0; i < 40; ++i)
    if (HttpClient::get(gateway.port(), "/").status != 200) ++failed;
  EXPECT_EQ(failed, 3);  // three 500s in a row, then no more traffic there
  EXPECT_EQ(bad.requestCount(), 3u);
  // The admin API says so.
  EXPECT_EQ(metricSample(gateway.adminPort(),
                         "switchyard_upstream_ejections_total{cluster=\"web\",instance=\"" +
                             bad.address() + "\"}"),
            1);
  // Its time over, it gets requests again.
  bad.setBehavior(BackendBehavior::fixed(200));
  EXPECT_TRUE(eventually(
      [&] {
        HttpClient::get(gateway.port(), "/");
        return bad.requestCount() > 3;
      },
      10s));
}

TEST(RetriesTest, PanicThresholdRoutesToEveryInstanceWhenTooFewAreHealthy) {
  TestBackend a("a"), b("b");
  a.setBehavior(BackendBehavior::fixed(500));
  b.setBehavior(BackendBehavior::fixed(500));
  Gateway gateway;
  ASSERT_TRUE(gateway.start(
      kConfig, {{"WORKERS", "1"},
                {"BACKENDS", Gateway::addressList({a.address(), b.address()})},
                {"EXTRA",
                 "    outlier_detection: { consecutive_failures: 2, base_ejection_ms: 60000, "
                 "max_ejected_percent: 100 }\n"
                 "    panic_threshold_percent: 50"}}));
  for (int i = 0; i < 20; ++i) {
    HttpResponse r = HttpClient::get(gateway.port(), "/");
    EXPECT_EQ(r.status, 500) << "request " << i << ": " << r.describe();
  }
  // Both were ejected in turn, but below the threshold every instance takes traffic again.
  EXPECT_GT(a.requestCount(), 3u);
  EXPECT_GT(b.requestCount(), 3u);
  EXPECT_EQ(metricSample(gateway.adminPort(), "switchyard_cluster_panic{cluster=\"web\"}"), 1);
}

TEST(RetriesTest, SlowStartGivesANewInstanceASmallShareAtFirst) {
  TestBackend a("a"), b("b"), fresh("fresh");
  TempDir dir;
  const std::string file =
      dir.writeFile("instances.yaml", "- \"" + a.address() + "\"\n- \"" + b.address() + "\"\n");
  constexpr const char* kFileConfig = R"(
workers: 1
listeners:
  - name: web
    address: "127.0.0.1:${LISTEN}"
    routes:
      - match: { path_prefix: "/" }
        cluster: web
clusters:
  - name: web
    discovery: { file: "${FILE}" }
    load_balancer: weighted_round_robin
    slow_start_ms: 600000
admin:
  address: "127.0.0.1:${ADMIN}"
)";
  Gateway gateway;
  ASSERT_TRUE(gateway.start(kFileConfig, {{"FILE", file}}));
  dir.writeFile("instances.yaml", "- \"" + a.address() + "\"\n- \"" + b.address() + "\"\n- \"" +
                                      fresh.address() + "\"\n");
  ASSERT_TRUE(eventually(
      [&] {
        HttpClient::get(gateway.port(), "/");
        return fresh.requestCount() > 0;
      },
      10s));
  const uint64_t before = a.requestCount() + b.requestCount() + fresh.requestCount();
  const uint64_t fresh_before = fresh.requestCount();
  for (int i = 0; i < 300; ++i) ASSERT_EQ(HttpClient::get(gateway.port(), "/").status, 200);
  const double share =
      static_cast<double>(fresh.requestCount() - fresh_before) /
      static_cast<double>(a.requestCount() + b.requestCount() + fresh.requestCount() - before);
  // Early in its ramp its weight is about a tenth of the others' (a share near 5 %, a third
  // without slow start).
  EXPECT_GT(share, 0.0);
  EXPECT_LT(share, 0.15);
}

}  // namespace
}  // namespace switchyard::support
