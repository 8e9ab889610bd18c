# shellcheck shell=bash
# Configuration writers of the deploy churn benchmark (sourced, not run). Loopback only, keep-alive
# on both sides. Switchyard gets the minimal configuration a new user writes (the defaults must be
# the safe ones); HAProxy gets what a SmartStack (Synapse + HAProxy) operator would write.
# bench/README.md says why each setting is there.

# write_churn_backend DIR PORT: one nginx (master + one worker) answering "ok\n" on every path
# (/health included), with an access log of the requests to "/" only: "$msec $status" (the epoch
# time of the response, ms resolution), buffered (the figures are read after the run; nginx flushes
# the buffer when it exits).
write_churn_backend() {
  local dir=$1 port=$2
  mkdir -p "$dir"
  cat >"$dir/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
worker_rlimit_nofile 16384;
events { worker_connections 8192; }
http {
  client_body_temp_path $dir/body;
  proxy_temp_path $dir/proxy;
  fastcgi_temp_path $dir/fastcgi;
  uwsgi_temp_path $dir/uwsgi;
  scgi_temp_path $dir/scgi;
  keepalive_timeout 300s;
  keepalive_requests 100000000;
  log_format served '\$msec \$status';
  server {
    listen 127.0.0.1:$port;
    default_type text/plain;
    location = / {
      access_log $dir/access.log served buffer=64k flush=1s;
      return 200 "ok\n";
    }
    location / {
      access_log off;
      return 200 "ok\n";
    }
  }
}
CONF
}

# write_churn_switchyard DIR PORT ADMIN_PORT ZK_PORT SERVERSET WORKERS: the minimal configuration
# (README's minimal example, with the cluster following the ServerSet): a listener, one route, one
# `serverset` cluster, the admin address, the workers; nothing else.
write_churn_switchyard() {
  local dir=$1 port=$2 admin_port=$3 zk_port=$4 serverset=$5 workers=$6
  mkdir -p "$dir"
  cat >"$dir/switchyard.yaml" <<CONF
zookeeper:
  servers: "127.0.0.1:$zk_port"
workers: $workers
listeners:
  - name: bench
    address: "127.0.0.1:$port"
    routes:
      - match: { path_prefix: "/" }
        cluster: web
clusters:
  - name: web
    discovery:
      serverset: "$serverset"
      endpoint: http
admin:
  address: "127.0.0.1:$admin_port"
CONF
}

# write_churn_switchyard_tuned DIR PORT ADMIN_PORT ZK_PORT SERVERSET WORKERS: TUNED=1, the tuned
# configuration of issue 4's benchmark: retries on resets, active health checks, outlier detection.
write_churn_switchyard_tuned() {
  local dir=$1 port=$2 admin_port=$3 zk_port=$4 serverset=$5 workers=$6
  mkdir -p "$dir"
  cat >"$dir/switchyard.yaml" <<CONF
zookeeper:
  servers: "127.0.0.1:$zk_port"
workers: $workers
listeners:
  - name: bench
    address: "127.0.0.1:$port"
    routes:
      - match: { path_prefix: "/" }
        cluster: web
clusters:
  - name: web
    discovery:
      serverset: "$serverset"
      endpoint: http
    connect_timeout_ms: 250
    drain_timeout_ms: 5000
    retries:
      attempts: 3
      on: [connect-failure, refused-stream, reset]
      budget_percent: 20
    health_check:
      path: /health
      interval_ms: 500
      timeout_ms: 250
      unhealthy_after: 2
      healthy_after: 1
    outlier_detection:
      consecutive_failures: 3
      base_ejection_ms: 10000
      max_ejected_percent: 50
admin:
  address: "127.0.0.1:$admin_port"
CONF
}

# write_churn_haproxy DIR PORT STATS_PORT SOCKET SLOT_PORT...: HAProxy 2.6 as a SmartStack
# operator configures it. Threads: HAProxy's default (one per CPU). Every slot (old and new ports)
# is rendered, `disabled` (maintenance): churn_synapse.py, the benchmark's Synapse, puts a slot in
# `ready` while its member is in the ServerSet and back in maintenance when it leaves, through
# the runtime API on SOCKET (Synapse's `do_socket`), so that no reload is needed. The stats page
# (CSV at /stats;csv) is on STATS_PORT.
write_churn_haproxy() {
  local dir=$1 port=$2 stats_port=$3 socket=$4 slot servers="" i=0
  shift 4
  for slot in "$@"; do
    i=$((i + 1))
    servers+="  server s$i 127.0.0.1:$slot disabled"$'\n'
  done
  mkdir -p "$dir"
  cat >"$dir/haproxy.cfg" <<CONF
global
  maxconn 8000
  pidfile $dir/haproxy.pid
  stats socket $socket mode 600 level admin

defaults
  mode http
  option http-keep-alive
  http-reuse safe
  timeout connect 500ms
  timeout client 60s
  timeout server 500ms
  timeout http-keep-alive 300s
  timeout check 500ms
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
  default-server check inter 1s fastinter 250ms downinter 500ms rise 2 fall 2 observe layer7 error-limit 3 on-error mark-down
$servers
CONF
}
