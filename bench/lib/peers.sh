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
