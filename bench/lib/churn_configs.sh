# shellcheck shell=bash
# Configuration writers of the deploy churn benchmark (sourced, not run). Loopback only, no
# per-request logging, keep-alive on both sides. Both proxies get their best settings for a
# rolling deploy and a dead machine; bench/README.md says why each one is there.

# The health-check cadence shared by HAProxy's checks, Switchyard's active checks and every
# `switchyard announce` (Aurora's health checker): a check every 500 ms, down after 2 failures,
# up after 1 pass.
CHURN_CHECK_INTERVAL_MS=500
CHURN_CHECK_TIMEOUT_MS=250
CHURN_CHECK_FALL=2
CHURN_CHECK_RISE=1

# write_churn_switchyard DIR PORT ADMIN_PORT ZK_PORT SERVERSET: one worker, the cluster follows
# the ServerSet; retries, active health checks and outlier detection on.
write_churn_switchyard() {
  local dir=$1 port=$2 admin_port=$3 zk_port=$4 serverset=$5
  mkdir -p "$dir"
  cat >"$dir/switchyard.yaml" <<CONF
zookeeper:
  servers: "127.0.0.1:$zk_port"
  session_timeout_ms: 10000
workers: 1
listeners:
  - name: bench
    address: "127.0.0.1:$port"
    protocol: http
    routes:
      - match: { path_prefix: "/" }
        cluster: web
clusters:
  - name: web
    discovery:
      serverset: "$serverset"
      endpoint: http
    load_balancer: round_robin
    connect_timeout_ms: 250
    drain_timeout_ms: 5000
    retries:
      attempts: 3
      on: [connect-failure, refused-stream, reset]
      budget_percent: 20
    health_check:
      path: /health
      interval_ms: $CHURN_CHECK_INTERVAL_MS
      timeout_ms: $CHURN_CHECK_TIMEOUT_MS
      unhealthy_after: $CHURN_CHECK_FALL
      healthy_after: $CHURN_CHECK_RISE
    outlier_detection:
      consecutive_failures: 3
      base_ejection_ms: 10000
      max_ejected_percent: 50
admin:
  address: "127.0.0.1:$admin_port"
CONF
}

# write_churn_haproxy DIR PORT STATS_PORT SLOT_PORT...: HAProxy 2.6, one thread, a static list of
# every instance slot (old and new ports); a slot with nothing listening is marked down by its
# checks and comes up with its first passing check. The stats page (CSV at /stats;csv) is on
# STATS_PORT.
write_churn_haproxy() {
  local dir=$1 port=$2 stats_port=$3 slot servers="" i=0
  shift 3
  for slot in "$@"; do
    i=$((i + 1))
    servers+="  server s$i 127.0.0.1:$slot"$'\n'
  done
  mkdir -p "$dir"
  cat >"$dir/haproxy.cfg" <<CONF
global
  nbthread 1
  maxconn 8000
  pidfile $dir/haproxy.pid

defaults
  mode http
  option http-keep-alive
  http-reuse safe
  timeout connect 250ms
  timeout client 60s
  timeout server 15s
  timeout http-keep-alive 300s
  timeout check ${CHURN_CHECK_TIMEOUT_MS}ms
  retries 3
  option redispatch 1
  retry-on all-retryable-errors

frontend bench
  bind 127.0.0.1:$port
  default_backend web

frontend stats
  bind 127.0.0.1:$stats_port
  stats enable
  stats uri /stats

backend web
  balance roundrobin
  option httpchk GET /health
  http-check expect status 200
  default-server check inter ${CHURN_CHECK_INTERVAL_MS}ms fall $CHURN_CHECK_FALL rise $CHURN_CHECK_RISE observe layer4 error-limit 1 on-error mark-down
$servers
CONF
}
