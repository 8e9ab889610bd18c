#!/usr/bin/env bash
# TLS handshake cost: a load in which every request opens a new TLS connection, through
# Switchyard, HAProxy 2.6 and nginx 1.22 terminating TLS with the same certificate; measured,
# never asserted.
#
#   bench/tls_handshake_bench.sh
#
# Knobs (environment):
#   TARGETS="haproxy nginx switchyard"   which proxies to measure (haproxy is the reference)
#   CERTS="ecdsa rsa"                    certificates, one pass each: ECDSA P-256, RSA 2048
#   ROUNDS=3                             rounds, each in a rotated target order (A B C, B C A, ...)
#   DURATION=5                           seconds per measured run
#   CLIENTS=50                           concurrent connections of h2load and wrk
#   STIME_CLIENTS=4                      openssl s_time processes side by side
#   SWITCHYARD_BIN=build/switchyard      the binary under test
#   OUT_DIR=bench/out                    where the table and raw results go
#   SYSCALLS=0                           1: count the proxy's system calls per request (strace -c;
#                                        it slows the proxy, so rates and CPU are not comparable)
#
# One thread (worker) per proxy, in front of ONE nginx backend (HTTP/1.1, keep-alive, as
# bench/http1_bench.sh). The clients speak HTTPS (TLS 1.3, X25519, HTTP/1.1) to each proxy, each
# configured its usual way (bench/lib/tls.sh; nginx with TLS 1.3 turned on, which 1.22 leaves
# off), session resumption at each proxy's default (session tickets). Scenarios, per certificate
# (lib/handshake_load.sh):
#   full-h2load-cN    rounds of h2load --h1 -c N -n N: one request per connection, full handshakes
#   full-stime-P      P `openssl s_time -new -www /`: full handshakes, one after another each
#   resumed-stime-P   P `openssl s_time -reuse -www /`: resumed handshakes (the share is shown)
#   resumed-wrk-cN    wrk -c N with `Connection: close`: wrk resumes its session
# Figures: handshakes/s (= connections, each with one proxied request), the proxy's CPU µs per
# handshake from /proc, errors, ratios to HAProxy. Everything binds 127.0.0.1, every run is
# bounded by `timeout`, and every process started here is stopped by PID on exit, error or Ctrl-C.
set -euo pipefail

# shellcheck source=lib/proxy_bench.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/proxy_bench.sh"

CERTS=${CERTS:-ecdsa rsa}
DURATION=${DURATION:-5}
CLIENTS=${CLIENTS:-50}
STIME_CLIENTS=${STIME_CLIENTS:-4}
read -r -a certs <<<"$CERTS"
bench_init tls_handshake_bench tls-handshake nginx haproxy h2load wrk curl timeout openssl

read -r -a backend_ports <<<"$(free_ports 4)"
write_backend_nginx "$tmp/backend" "${backend_ports[@]}"
bench_start backend "$tmp/backend" "http://127.0.0.1:${backend_ports[0]}/"

# start_targets CERT: configures every target (one thread, TLS with the CERT certificate) and
# starts it.
start_targets() {
  local cert=$1 target dir admin_port
  make_bench_cert "$tmp/tls-$cert" "$cert"
  for target in "${targets[@]}"; do
    dir=$tmp/$target-$cert
    read -r port_of[$target] admin_port <<<"$(free_ports 2)"
    case "$target" in
      haproxy) write_haproxy "$dir" "${port_of[$target]}" 1 "${backend_ports[@]}" ;;
      nginx) write_nginx_proxy "$dir" "${port_of[$target]}" 1 "${backend_ports[@]}" ;;
      switchyard)
        write_switchyard "$dir" "${port_of[$target]}" "$admin_port" 1 "${backend_ports[@]}" ;;
    esac
    enable_tls "$target" "$dir" "${port_of[$target]}" http/1.1 "$tmp/tls-$cert"
    bench_start "$target" "$dir" "https://127.0.0.1:${port_of[$target]}/" --tlsv1.3
  done
}

limit=$((DURATION + 40))  # no run may hang: a stuck tool is killed and the run recorded as failed

# run_one CERT ROUND SCENARIO TARGET: one measured run, recorded as a JSON line.
run_one() {
  local cert=$1 round=$2 scenario=$3 target=$4 mode clients
  clients=${scenario##*-}
  clients=${clients#c}
  case "$scenario" in
    full-h2load-*) mode=h2load ;;
    full-stime-*) mode=stime-new ;;
    resumed-stime-*) mode=stime-reuse ;;
    resumed-wrk-*) mode=wrk ;;
  esac
  bench_measure "$target" "$limit" "$tmp/run.out" "$lib/handshake_load.sh" "$mode" "$clients" \
    "$DURATION" "127.0.0.1:${port_of[$target]}"
  bench_record handshakes "$tmp/run.out" 1 "$round" "$cert/$scenario" "$target"
}

scenarios=("full-h2load-c$CLIENTS" "full-stime-$STIME_CLIENTS" "resumed-stime-$STIME_CLIENTS"
  "resumed-wrk-c$CLIENTS")
echo "$BENCH_NAME: targets: ${targets[*]}; certificates: ${certs[*]}; rounds: $ROUNDS;" \
  "${DURATION}s per run; results: $results"
for cert in "${certs[@]}"; do
  start_targets "$cert"
  # Warm-up: fault the code in and open the upstream connections.
  for target in "${targets[@]}"; do
    run_bounded 20 /dev/null "$lib/handshake_load.sh" h2load "$CLIENTS" 1 \
      "127.0.0.1:${port_of[$target]}" || true
  done
  bench_rounds "$cert certificate" "$cert" run_one "${scenarios[@]}"
  bench_stop_targets
done

{
  echo "### TLS handshakes (a new connection per request), $stamp"
  echo
  bench_machine
  echo "Peers: $(haproxy -v | head -1 | cut -d' ' -f1-3) (\`bind ... ssl crt\`), $(nginx -v 2>&1 | cut -d' ' -f3) (\`listen ... ssl\`, \`ssl_protocols TLSv1.2 TLSv1.3\`), Switchyard \`protocol: https\`; one thread each; clients $(h2load --version | head -1), $(openssl version | cut -d' ' -f1-2) s_time, $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2); TLS 1.3, HTTP/1.1 inside, one request per connection; HTTP/1.1 keep-alive to one nginx backend."
  echo "Certificates: ecdsa = ECDSA P-256, rsa = RSA 2048 (self-signed, \`openssl req\`)."
  echo "Command: \`SYSCALLS=${SYSCALLS:-0} TARGETS=\"$TARGETS\" CERTS=\"$CERTS\" ROUNDS=$ROUNDS DURATION=$DURATION CLIENTS=$CLIENTS STIME_CLIENTS=$STIME_CLIENTS bench/tls_handshake_bench.sh\`"
  echo "Scenarios: full-h2load-cN = rounds of \`h2load --h1 -c N -n N\` for ${DURATION}s (full handshakes, N at once); full-stime-P / resumed-stime-P = P \`openssl s_time -new|-reuse -www / -tls1_3 -time $DURATION\` side by side; resumed-wrk-cN = \`wrk -t1 -cN -d${DURATION}s -H 'Connection: close'\`."
  echo
  # The report's columns, named for this load (one request per connection).
  "$BENCH_PYTHON" "$lib/http1_report.py" table "$results" |
    sed -e 's/| req\/s |/| handshakes\/s |/' -e 's/req\/s ÷/handshakes\/s ÷/' \
      -e 's/| CPU µs\/req |/| CPU µs\/handshake |/' -e 's/CPU\/req ÷/CPU\/handshake ÷/' \
      -e 's/| syscalls\/req |/| syscalls\/handshake |/' \
      -e 's/^#### 1 thread per proxy$/#### One thread per proxy/'
  echo
  echo "Here every request is its own connection: handshakes/s = connections completed per second, CPU µs/handshake = the proxy's CPU per connection (the handshake, one proxied request, the close). p50/p99: not measured (—). resumed: the share of connections the server resumed, as s_time reports it (wrk does not say; h2load never resumes)."
} >"$table"
echo
cat "$table"
echo
echo "$BENCH_NAME: table in $table, raw results in $results"
