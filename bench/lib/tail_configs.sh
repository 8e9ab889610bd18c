# Configuration writers for the tail-latency benchmark (sourced, not run): four backends where
# one answers ten times slower, and the proxies balancing over them. Everything binds 127.0.0.1,
# keeps connections alive on both sides and logs nothing per request on the proxies.

# BENCH_KEEPALIVE_REQUESTS comes from peers.sh (sourced first).

# write_tail_backends DIR FAST_MS SLOW_MS SLOW_PORT PORT...: ONE nginx master with ONE worker,
# listening on every PORT; each answers "ok\n" after FAST_MS (SLOW_MS on SLOW_PORT), with the
# echo module's echo_sleep, a timer: the worker is never blocked, so a slow answer costs no other
# request anything and the backends stay fast while a proxy queues on the slow one. Each port
# keeps its own access log (DIR/access-PORT.log): the share each instance served is counted at
# the backend, the same way for every proxy.
write_tail_backends() {
  local dir=$1 fast_ms=$2 slow_ms=$3 slow_port=$4 port servers="" ms
  shift 4
  for port in "$@"; do
    ms=$fast_ms
    [[ $port == "$slow_port" ]] && ms=$slow_ms
    servers+="  server {
    listen 127.0.0.1:$port;
    access_log $dir/access-$port.log counted;
    location = /health { access_log off; return 200 \"ok\\n\"; }
    location / { echo_sleep $(printf '%d.%03d' $((ms / 1000)) $((ms % 1000))); echo ok; }
  }
"
  done
  mkdir -p "$dir"
  cat >"$dir/nginx.conf" <<CONF
load_module /usr/lib/nginx/modules/ngx_http_echo_module.so;
worker_processes 1;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
worker_rlimit_nofile 16384;
events { worker_connections 8192; }
http {
  log_format counted '\$msec';
  client_body_temp_path $dir/body;
  proxy_temp_path $dir/proxy;
  fastcgi_temp_path $dir/fastcgi;
  uwsgi_temp_path $dir/uwsgi;
  scgi_temp_path $dir/scgi;
  keepalive_timeout 300s;
  keepalive_requests $BENCH_KEEPALIVE_REQUESTS;
  default_type text/plain;
$servers}
CONF
}

# write_tail_haproxy DIR PORT THREADS BACKEND_PORT...: HAProxy 2.6, `balance leastconn` (its
# answer to a slow server: the fewest connections in use), THREADS threads, server-side
# keep-alive with reuse across clients, no logging, no health checks (as Switchyard's).
write_tail_haproxy() {
  local dir=$1 port=$2 threads=$3 bport servers="" i=0
  shift 3
  for bport in "$@"; do
    i=$((i + 1))
    servers+="  server b$i 127.0.0.1:$bport"$'\n'
  done
  mkdir -p "$dir"
  cat >"$dir/haproxy.cfg" <<CONF
global
  nbthread $threads
  maxconn 8000
  pidfile $dir/haproxy.pid

defaults
  mode http
  option http-keep-alive
  http-reuse always
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  timeout http-keep-alive 300s

frontend bench
  bind 127.0.0.1:$port
  default_backend backends

backend backends
  balance leastconn
$servers
CONF
}

# write_tail_switchyard DIR PORT ADMIN_PORT THREADS POLICY BACKEND_PORT...: Switchyard with
# THREADS workers and load_balancer POLICY, static discovery, no access log, no health checks,
# default retries (nothing fails here, so none happen: the policy alone decides).
write_tail_switchyard() {
  local dir=$1 port=$2 admin_port=$3 threads=$4 policy=$5 bport servers=""
  shift 5
  for bport in "$@"; do servers+="\"127.0.0.1:$bport\", "; done
  mkdir -p "$dir"
  cat >"$dir/switchyard.yaml" <<CONF
workers: $threads
listeners:
  - name: bench
    address: "127.0.0.1:$port"
    protocol: http
    routes:
      - match: { path_prefix: "/" }
        cluster: backends
clusters:
  - name: backends
    discovery:
      static: [${servers%, }]
    load_balancer: $policy
admin:
  address: "127.0.0.1:$admin_port"
CONF
}
