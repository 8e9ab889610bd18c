# Configuration writers for the benchmark's backends and proxies (sourced, not run).
# Every one binds 127.0.0.1 only, logs nothing per request and keeps connections alive on both
# sides, so that the proxies are compared doing the same work.

# Connections are never closed for having served "too many" requests: nginx closes a keep-alive
# connection after 1000 by default (HAProxy and Switchyard do not), which would add reconnects.
BENCH_KEEPALIVE_REQUESTS=100000000

# write_backend_nginx DIR PORT...: ONE nginx master with ONE worker answering "ok\n" on every
# port. It does almost nothing per request, so it is not the bottleneck.
write_backend_nginx() {
  local dir=$1 port listens=""
  shift
  for port in "$@"; do listens+="    listen 127.0.0.1:$port;"$'\n'; done
  mkdir -p "$dir"
  cat >"$dir/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
worker_rlimit_nofile 16384;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path $dir/body;
  proxy_temp_path $dir/proxy;
  fastcgi_temp_path $dir/fastcgi;
  uwsgi_temp_path $dir/uwsgi;
  scgi_temp_path $dir/scgi;
  keepalive_timeout 300s;
  keepalive_requests $BENCH_KEEPALIVE_REQUESTS;
  server {
$listens    default_type text/plain;
    location / { return 200 "ok\n"; }
  }
}
CONF
}

# write_haproxy DIR PORT THREADS BACKEND_PORT...: HAProxy 2.6, one process with THREADS threads,
# round robin, server-side keep-alive with connection reuse across clients, no logging.
write_haproxy() {
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
  balance roundrobin
$servers
CONF
}

# write_nginx_proxy DIR PORT THREADS BACKEND_PORT...: nginx as a reverse proxy with THREADS
# worker processes (reuseport, so the kernel spreads connections like Switchyard's per-worker
# acceptors), HTTP/1.1 upstream keep-alive (pool of 64 idle connections per worker).
write_nginx_proxy() {
  local dir=$1 port=$2 threads=$3 bport servers=""
  shift 3
  for bport in "$@"; do servers+="    server 127.0.0.1:$bport;"$'\n'; done
  mkdir -p "$dir"
  cat >"$dir/nginx.conf" <<CONF
worker_processes $threads;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
worker_rlimit_nofile 16384;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path $dir/body;
  proxy_temp_path $dir/proxy;
  fastcgi_temp_path $dir/fastcgi;
  uwsgi_temp_path $dir/uwsgi;
  scgi_temp_path $dir/scgi;
  keepalive_timeout 300s;
  keepalive_requests $BENCH_KEEPALIVE_REQUESTS;
  upstream backends {
$servers    keepalive 64;
    keepalive_requests $BENCH_KEEPALIVE_REQUESTS;
    keepalive_timeout 300s;
  }
  server {
    listen 127.0.0.1:$port reuseport;
    location / {
      proxy_pass http://backends;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
CONF
}

# write_switchyard DIR PORT ADMIN_PORT THREADS BACKEND_PORT...: the same job for Switchyard:
# THREADS workers, round robin over the backends, no access log, no health checks.
write_switchyard() {
  local dir=$1 port=$2 admin_port=$3 threads=$4 bport servers=""
  shift 4
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
    load_balancer: round_robin
admin:
  address: "127.0.0.1:$admin_port"
CONF
}

# --- HTTP/2 towards the backend (bench/h2_upstream_bench.sh) ---------------------------------
# Each helper below edits a file one of the writers above made and checks that the edit took.

# backend_speak_h2c DIR: every port of the backend in DIR speaks HTTP/2 with prior knowledge
# (nginx's `listen ... http2` without ssl is h2c only: an HTTP/1.1 request gets no answer).
backend_speak_h2c() {
  sed -i 's|^    listen 127.0.0.1:\([0-9]*\);$|    listen 127.0.0.1:\1 http2;|' "$1/nginx.conf"
  grep -q ' http2;$' "$1/nginx.conf" || { echo "bench: backend in $1 not h2c" >&2; exit 1; }
}

# backend_add_status DIR PORT: a plain HTTP/1.1 server on PORT in the backend's nginx, answering
# stub_status (see backend_accepts).
backend_add_status() {
  local dir=$1 port=$2
  sed -i "\$i\\  server { listen 127.0.0.1:$port; location / { stub_status; } }" "$dir/nginx.conf"
  grep -q "stub_status" "$dir/nginx.conf" || { echo "bench: no status in $dir" >&2; exit 1; }
}

# backend_accepts PORT: connections the backend has accepted since it started (stub_status on
# PORT). Each reading is itself one: the connections opened between two readings are their
# difference - 1.
backend_accepts() {
  curl -s --max-time 2 "http://127.0.0.1:$1/" |
    awk '/^ *[0-9]+ +[0-9]+ +[0-9]+ *$/ { acc = $1 } END { if (acc == "") exit 1; print acc }'
}

# haproxy_servers_h2 DIR: HAProxy speaks HTTP/2 (h2c, prior knowledge) to every server.
# HTTP/2 has no reason phrase, and HAProxy then answers HTTP/1.1 clients `HTTP/1.1 200 ` with an
# empty one: valid (RFC 9112), but h2load 1.52's HTTP/1.1 parser counts every such answer as a
# failed request. So a 200 gets its "OK" back (one header rewrite per answer).
haproxy_servers_h2() {
  sed -i 's|^  server b[0-9]* 127.0.0.1:[0-9]*$|& proto h2|' "$1/haproxy.cfg"
  echo "  http-response set-status 200 reason OK if { status 200 }" >>"$1/haproxy.cfg"
  grep -q ' proto h2$' "$1/haproxy.cfg" || { echo "bench: haproxy in $1 not h2" >&2; exit 1; }
}

# nginx_proxy_grpc DIR: the nginx proxy forwards with the grpc module (`grpc_pass grpc://`, h2c
# to the upstream, kept alive by the upstream block's keepalive), its only HTTP/2 client: it
# takes any request, not only gRPC, but sends one request per upstream connection at a time.
nginx_proxy_grpc() {
  sed -i -e 's|^      proxy_pass http://backends;$|      grpc_pass grpc://backends;|' \
    -e '/^      proxy_http_version 1.1;$/d' -e '/^      proxy_set_header Connection "";$/d' \
    "$1/nginx.conf"
  grep -q 'grpc_pass' "$1/nginx.conf" || { echo "bench: nginx in $1 not grpc_pass" >&2; exit 1; }
}

# switchyard_cluster_protocol DIR PROTOCOL: the cluster's upstream protocol (http1, h2c, h2).
switchyard_cluster_protocol() {
  sed -i "s|^    load_balancer: round_robin\$|    protocol: $2\n&|" "$1/switchyard.yaml"
  grep -q "^    protocol: $2\$" "$1/switchyard.yaml" || {
    echo "bench: switchyard cluster in $1 not $2" >&2
    exit 1
  }
}
