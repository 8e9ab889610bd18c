#!/usr/bin/env bash
# HTTP/2 (h2c, prior knowledge) proxy benchmark: Switchyard beside HAProxy 2.6 and nginx 1.22,
# measured, never asserted.
#
#   bench/h2_bench.sh
#
# Knobs (environment):
#   TARGETS="haproxy nginx switchyard"   which proxies to measure (haproxy is the reference)
#   THREADS="1"                          threads (workers) per proxy
#   ROUNDS=3                             rounds, each in a rotated target order (A B C, B C A, ...)
#   DURATION=10                          seconds per measured run
#   RATE=10000                           total offered req/s of the fixed-load run
#   SWITCHYARD_BIN=build/switchyard      the binary under test
#   OUT_DIR=bench/out                    where the table and raw results go
#   TLS=0                                1: h2 over TLS (ALPN) from the clients to every proxy,
#                                        one self-signed certificate (bench/lib/tls.sh)
#
# Clients speak h2c with prior knowledge to every proxy (HAProxy `bind ... proto h2`, nginx
# `listen ... http2`, Switchyard's `protocol: http` listener); every proxy speaks HTTP/1.1 with
# keep-alive to ONE nginx backend process with ONE worker on 4 ports, as bench/http1_bench.sh.
# Scenarios per round and target: fixed offered load (h2load -c 10 -m 10 at RATE req/s in total),
# then saturation with few connections and many streams (-c 4 -m 100) and with many connections
# (-c 50 -m 10). Everything binds 127.0.0.1, every run is bounded by `timeout`, and every process
# started here is stopped by PID on exit, error or Ctrl-C.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
lib=$root/bench/lib
# shellcheck source=lib/common.sh
source "$lib/common.sh"
# shellcheck source=lib/peers.sh
source "$lib/peers.sh"
# shellcheck source=lib/tls.sh
source "$lib/tls.sh"

TARGETS=${TARGETS:-haproxy nginx switchyard}
THREADS=${THREADS:-1}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
RATE=${RATE:-10000}
TLS=${TLS:-0}
SWITCHYARD_BIN=${SWITCHYARD_BIN:-$root/build/switchyard}
OUT_DIR=${OUT_DIR:-$root/bench/out}
FIXED_CLIENTS=10
python=/usr/bin/python3
clk_tck=$(getconf CLK_TCK)
read -r -a targets <<<"$TARGETS"
read -r -a thread_counts <<<"$THREADS"

for tool in nginx haproxy h2load curl timeout openssl; do
  command -v "$tool" >/dev/null || {
    echo "h2_bench: '$tool' not found; run scripts/install-deps.sh" >&2
    exit 1
  }
done
for target in "${targets[@]}"; do
  case "$target" in
    haproxy | nginx) ;;
    switchyard)
      [[ -x "$SWITCHYARD_BIN" ]] || {
        echo "h2_bench: no switchyard binary at $SWITCHYARD_BIN (build it with" \
          "scripts/build.sh Release, set SWITCHYARD_BIN, or run TARGETS=\"haproxy nginx\")" >&2
        exit 1
      }
      ;;
    *) echo "h2_bench: unknown target '$target' (haproxy, nginx, switchyard)" >&2; exit 2 ;;
  esac
done
if ((RATE % FIXED_CLIENTS)); then
  echo "h2_bench: RATE must be a multiple of $FIXED_CLIENTS (h2load's --rps is per client)" >&2
  exit 2
fi

tmp=$(mktemp -d /tmp/switchyard-h2-bench.XXXXXX)
chmod 755 "$tmp"  # nginx workers drop root and must reach their temp paths below it
on_exit() {
  stop_all
  rm -rf "$tmp"
}
trap on_exit EXIT
trap 'echo "h2_bench: interrupted" >&2; exit 130' INT
trap 'exit 143' TERM

mkdir -p "$OUT_DIR"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
kind=h2
scheme=http
curl_h2=(--http2-prior-knowledge)
if [[ $TLS == 1 ]]; then
  kind=h2-tls
  scheme=https
  curl_h2=(--http2)  # ALPN
  make_bench_cert "$tmp/tls"
fi
results=$OUT_DIR/$kind-$stamp.jsonl
table=$OUT_DIR/$kind-$stamp.md
: >"$results"

# wait_h2 URL PID [SECONDS]: waits until URL answers 200 over HTTP/2, failing early if PID died.
wait_h2() {
  local url=$1 pid=$2 limit=${3:-10} deadline
  deadline=$((SECONDS + limit))
  while ((SECONDS < deadline)); do
    kill -0 "$pid" 2>/dev/null || return 1
    if [[ $(curl -s "${curl_h2[@]}" -o /dev/null -w '%{http_code}' --max-time 1 "$url") == 200 ]]; then
      return 0
    fi
    sleep 0.1
  done
  return 1
}

# The backend: one nginx master, one worker, four ports (HTTP/1.1).
read -r -a backend_ports <<<"$(free_ports 4)"
write_backend_nginx "$tmp/backend" "${backend_ports[@]}"
start_bg backend "$tmp/backend/stdout.log" nginx -p "$tmp/backend" -c "$tmp/backend/nginx.conf" \
  -e "$tmp/backend/error.log"
for port in "${backend_ports[@]}"; do
  wait_http "http://127.0.0.1:$port/" "$backend_pid" || {
    echo "h2_bench: the nginx backend does not answer on $port:" >&2
    cat "$tmp/backend/error.log" "$tmp/backend/stdout.log" >&2
    exit 1
  }
done

declare -A port_of pid_of
# start_targets THREADS: configures (the HTTP/1.1 bench's files, with h2c on the client side)
# and starts every target with THREADS threads each.
start_targets() {
  local threads=$1 target dir admin_port
  for target in "${targets[@]}"; do
    dir=$tmp/$target-$threads
    read -r port_of[$target] admin_port <<<"$(free_ports 2)"
    case "$target" in
      haproxy)
        write_haproxy "$dir" "${port_of[$target]}" "$threads" "${backend_ports[@]}"
        if [[ $TLS == 1 ]]; then
          enable_tls haproxy "$dir" "${port_of[$target]}" h2,http/1.1 "$tmp/tls"
        else
          sed -i "s|^  bind 127.0.0.1:${port_of[$target]}\$|& proto h2|" "$dir/haproxy.cfg"
        fi
        grep -q -e "proto h2" -e "alpn h2" "$dir/haproxy.cfg" || { echo "h2_bench: haproxy.cfg not h2" >&2; exit 1; }
        start_bg haproxy "$dir/stdout.log" haproxy -db -f "$dir/haproxy.cfg"
        pid_of[$target]=$haproxy_pid
        ;;
      nginx)
        write_nginx_proxy "$dir" "${port_of[$target]}" "$threads" "${backend_ports[@]}"
        sed -i "s|listen 127.0.0.1:${port_of[$target]} reuseport;|listen 127.0.0.1:${port_of[$target]} reuseport http2;|" \
          "$dir/nginx.conf"
        grep -q "reuseport http2" "$dir/nginx.conf" || { echo "h2_bench: nginx.conf not h2" >&2; exit 1; }
        [[ $TLS == 1 ]] && enable_tls nginx "$dir" "${port_of[$target]}" h2 "$tmp/tls"
        start_bg nginx "$dir/stdout.log" nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log"
        pid_of[$target]=$nginx_pid
        ;;
      switchyard)
        write_switchyard "$dir" "${port_of[$target]}" "$admin_port" "$threads" "${backend_ports[@]}"
        [[ $TLS == 1 ]] && enable_tls switchyard "$dir" "${port_of[$target]}" h2 "$tmp/tls"
        start_bg switchyard "$dir/stdout.log" "$SWITCHYARD_BIN" serve --config "$dir/switchyard.yaml"
        pid_of[$target]=$switchyard_pid
        ;;
    esac
    if ! wait_h2 "$scheme://127.0.0.1:${port_of[$target]}/" "${pid_of[$target]}" 15; then
      echo "h2_bench: $target ($threads threads) does not answer HTTP/2 ($scheme) on ${port_of[$target]}:" >&2
      tail -n 20 "$dir"/*.log >&2 || true
      exit 1
    fi
  done
}

stop_targets() {
  local target pids=()
  for target in "${targets[@]}"; do pids+=("${pid_of[$target]}"); done
  stop_pids "${pids[@]}"
}

limit=$((DURATION + 30))  # no run may hang: a stuck tool is killed and the run recorded as failed

# run_one THREADS ROUND SCENARIO TARGET: one measured run, recorded as a JSON line.
run_one() {
  local threads=$1 round=$2 scenario=$3 target=$4 url out cpu0 cpu1 be0 be1 t0 t1 pid log
  url="$scheme://127.0.0.1:${port_of[$target]}/"
  out=$tmp/run.out
  log=$tmp/h2load.log
  rm -f "$log"
  cpu0=$(cpu_ticks "${pid_of[$target]}")
  be0=$(cpu_ticks "$backend_pid")
  t0=$(date +%s.%N)
  case "$scenario" in
    fixed-*)
      run_bounded "$limit" "$out" h2load -c "$FIXED_CLIENTS" -m 10 -t 1 \
        --rps $((RATE / FIXED_CLIENTS)) -D "$DURATION" --log-file="$log" "$url" || true
      ;;
    sat-c*)
      local c=${scenario#sat-c} m
      m=${c#*-m}
      c=${c%-m*}
      run_bounded "$limit" "$out" h2load -c "$c" -m "$m" -t 1 -D "$DURATION" --log-file="$log" \
        "$url" || true
      ;;
  esac
  t1=$(date +%s.%N)
  for pid in "$backend_pid" "${pid_of[$target]}"; do
    alive "$pid" || {
      echo "h2_bench: a server died during the $target $scenario run; logs in $tmp:" >&2
      tail -n 20 "$tmp"/*/*.log >&2 || true
      exit 1
    }
  done
  cpu1=$(cpu_ticks "${pid_of[$target]}")
  be1=$(cpu_ticks "$backend_pid")
  "$python" "$lib/http1_report.py" record --out "$results" --tool h2load --stdout "$out" \
    --log "$log" --threads "$threads" --round "$round" --scenario "$scenario" \
    --target "$target" --cpu-ticks $((cpu1 - cpu0)) --backend-ticks $((be1 - be0)) \
    --wall-s "$(awk "BEGIN { print $t1 - $t0 }")" --clk-tck "$clk_tck"
}

scenarios=("fixed-$((RATE / 1000))k" sat-c4-m100 sat-c50-m10)
n=${#targets[@]}
echo "h2_bench: targets: ${targets[*]}; threads: ${thread_counts[*]}; rounds: $ROUNDS;" \
  "${DURATION}s per run; results: $results"
for threads in "${thread_counts[@]}"; do
  start_targets "$threads"
  # Warm-up: open the upstream connections and fault the code in before the first measurement.
  for target in "${targets[@]}"; do
    run_bounded 15 /dev/null h2load -c 50 -m 10 -t 1 -D 2 "$scheme://127.0.0.1:${port_of[$target]}/" || true
  done
  for ((round = 1; round <= ROUNDS; round++)); do
    # Rotate the order each round (A B C, B C A, C A B) so no target always runs first or last.
    order=()
    for ((i = 0; i < n; i++)); do order+=("${targets[$(((i + round - 1) % n))]}"); done
    echo "== threads $threads, round $round/$ROUNDS: ${order[*]}"
    for scenario in "${scenarios[@]}"; do
      for target in "${order[@]}"; do
        run_one "$threads" "$round" "$scenario" "$target"
      done
    done
  done
  stop_targets
done

{
  echo "### HTTP/2 ($([[ $TLS == 1 ]] && echo "h2 over TLS, ALPN" || echo h2c)) proxy benchmark, $stamp"
  echo
  echo "Machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')), shared by the load generator, the backend and the proxy: compare ratios and CPU per request, not raw req/s."
  echo "Peers: $(haproxy -v | head -1 | cut -d' ' -f1-3) (\`bind ... proto h2\`), $(nginx -v 2>&1 | cut -d' ' -f3) (\`listen ... http2\`), $(h2load --version | head -1); HTTP/1.1 keep-alive to one nginx backend."
  echo "Command: \`TLS=$TLS TARGETS=\"$TARGETS\" THREADS=\"$THREADS\" ROUNDS=$ROUNDS DURATION=$DURATION RATE=$RATE bench/h2_bench.sh\`"
  echo "Scenarios: ${scenarios[0]} = \`h2load -c $FIXED_CLIENTS -m 10 -t 1 --rps $((RATE / FIXED_CLIENTS)) -D $DURATION\` ($RATE req/s offered in total); sat-cC-mM = \`h2load -c C -m M -t 1 -D $DURATION\` (saturation)."
  echo
  "$python" "$lib/http1_report.py" table "$results"
} >"$table"
echo
cat "$table"
echo
echo "h2_bench: table in $table, raw results in $results"
