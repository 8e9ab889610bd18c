#!/usr/bin/env bash
# HTTP/1.1 proxy benchmark: Switchyard beside HAProxy 2.6 and nginx, measured, never asserted.
#
#   bench/http1_bench.sh
#
# Knobs (environment):
#   TARGETS="haproxy nginx switchyard"   which proxies to measure (haproxy is the reference)
#   THREADS="1 2"                        threads (workers) per proxy; 1 is the headline
#   ROUNDS=3                             rounds, each in a rotated target order (A B C, B C A, ...)
#   DURATION=10                          seconds per measured run
#   RATE=20000                           total offered req/s of the fixed-load run (h2load)
#   SWITCHYARD_BIN=build/switchyard      the binary under test
#   OUT_DIR=bench/out                    where the table and raw results go
#   TLS=0                                1: the clients speak HTTPS to every proxy (TLS 1.3,
#                                        ALPN http/1.1, one self-signed certificate); the
#                                        backend stays plain HTTP
#
# Per round and thread count, each target runs: (a) fixed offered load, h2load --h1 -c 50 at RATE
# req/s in total (h2load's --rps is per client); (b) saturation, wrk -t1 -c50 and -c200. Every
# proxy forwards to ONE nginx backend process with ONE worker listening on 4 ports.
# Everything binds 127.0.0.1, every run is bounded by `timeout`, and every process started here
# is stopped by PID on exit, error or Ctrl-C.
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
THREADS=${THREADS:-1 2}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
RATE=${RATE:-20000}
SWITCHYARD_BIN=${SWITCHYARD_BIN:-$root/build/switchyard}
TLS=${TLS:-0}
OUT_DIR=${OUT_DIR:-$root/bench/out}
CLIENTS=50
python=/usr/bin/python3
clk_tck=$(getconf CLK_TCK)
read -r -a targets <<<"$TARGETS"
read -r -a thread_counts <<<"$THREADS"

for tool in nginx haproxy h2load wrk curl timeout openssl; do
  command -v "$tool" >/dev/null || {
    echo "http1_bench: '$tool' not found; run scripts/install-deps.sh" >&2
    exit 1
  }
done
for target in "${targets[@]}"; do
  case "$target" in
    haproxy | nginx) ;;
    switchyard)
      [[ -x "$SWITCHYARD_BIN" ]] || {
        echo "http1_bench: no switchyard binary at $SWITCHYARD_BIN (build it with" \
          "scripts/build.sh Release, set SWITCHYARD_BIN, or run TARGETS=\"haproxy nginx\")" >&2
        exit 1
      }
      ;;
    *) echo "http1_bench: unknown target '$target' (haproxy, nginx, switchyard)" >&2; exit 2 ;;
  esac
done
if ((RATE % CLIENTS)); then
  echo "http1_bench: RATE must be a multiple of $CLIENTS (h2load's --rps is per client)" >&2
  exit 2
fi

tmp=$(mktemp -d /tmp/switchyard-http1-bench.XXXXXX)
chmod 755 "$tmp"  # nginx workers drop root and must reach their temp paths below it
on_exit() {
  stop_all
  rm -rf "$tmp"
}
trap on_exit EXIT
trap 'echo "http1_bench: interrupted" >&2; exit 130' INT
trap 'exit 143' TERM

mkdir -p "$OUT_DIR"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
kind=http1
scheme=http
if [[ $TLS == 1 ]]; then
  kind=http1-tls
  scheme=https
  make_bench_cert "$tmp/tls"
fi
results=$OUT_DIR/$kind-$stamp.jsonl
table=$OUT_DIR/$kind-$stamp.md
: >"$results"

# The backend: one nginx master, one worker, four ports.
read -r -a backend_ports <<<"$(free_ports 4)"
write_backend_nginx "$tmp/backend" "${backend_ports[@]}"
start_bg backend "$tmp/backend/stdout.log" nginx -p "$tmp/backend" -c "$tmp/backend/nginx.conf" \
  -e "$tmp/backend/error.log"
for port in "${backend_ports[@]}"; do
  wait_http "http://127.0.0.1:$port/" "$backend_pid" || {
    echo "http1_bench: the nginx backend does not answer on $port:" >&2
    cat "$tmp/backend/error.log" "$tmp/backend/stdout.log" >&2
    exit 1
  }
done

declare -A port_of pid_of
# start_targets THREADS: configures and starts every target with THREADS threads each.
start_targets() {
  local threads=$1 target dir admin_port
  for target in "${targets[@]}"; do
    dir=$tmp/$target-$threads
    read -r port_of[$target] admin_port <<<"$(free_ports 2)"
    case "$target" in
      haproxy)
        write_haproxy "$dir" "${port_of[$target]}" "$threads" "${backend_ports[@]}"
        [[ $TLS == 1 ]] && enable_tls haproxy "$dir" "${port_of[$target]}" http/1.1 "$tmp/tls"
        start_bg haproxy "$dir/stdout.log" haproxy -db -f "$dir/haproxy.cfg"
        pid_of[$target]=$haproxy_pid
        ;;
      nginx)
        write_nginx_proxy "$dir" "${port_of[$target]}" "$threads" "${backend_ports[@]}"
        [[ $TLS == 1 ]] && enable_tls nginx "$dir" "${port_of[$target]}" http/1.1 "$tmp/tls"
        start_bg nginx "$dir/stdout.log" nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log"
        pid_of[$target]=$nginx_pid
        ;;
      switchyard)
        write_switchyard "$dir" "${port_of[$target]}" "$admin_port" "$threads" "${backend_ports[@]}"
        [[ $TLS == 1 ]] && enable_tls switchyard "$dir" "${port_of[$target]}" http/1.1 "$tmp/tls"
        start_bg switchyard "$dir/stdout.log" "$SWITCHYARD_BIN" serve --config "$dir/switchyard.yaml"
        pid_of[$target]=$switchyard_pid
        ;;
    esac
    if ! wait_http "$scheme://127.0.0.1:${port_of[$target]}/" "${pid_of[$target]}" 15; then
      echo "http1_bench: $target ($threads threads) does not answer on ${port_of[$target]}:" >&2
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
  local threads=$1 round=$2 scenario=$3 target=$4 url out cpu0 cpu1 be0 be1 t0 t1 tool pid log=""
  url="$scheme://127.0.0.1:${port_of[$target]}/"
  out=$tmp/run.out
  rm -f "$tmp/h2load.log"
  cpu0=$(cpu_ticks "${pid_of[$target]}")
  be0=$(cpu_ticks "$backend_pid")
  t0=$(date +%s.%N)
  case "$scenario" in
    fixed-*)
      tool=h2load
      log=$tmp/h2load.log
      # No --warm-up-time: h2load would not count its requests, but the CPU they cost would be
      # in the figures. The targets are already warm (see the wrk warm-up below).
      run_bounded "$limit" "$out" h2load --h1 -c "$CLIENTS" -t 1 --rps $((RATE / CLIENTS)) \
        -D "$DURATION" --log-file="$log" "$url" || true
      ;;
    wrk-c*)
      tool=wrk
      run_bounded "$limit" "$out" wrk -t1 -c"${scenario#wrk-c}" -d"${DURATION}s" --latency \
        -s "$lib/wrk_report.lua" "$url" || true
      ;;
  esac
  t1=$(date +%s.%N)
  for pid in "$backend_pid" "${pid_of[$target]}"; do
    alive "$pid" || {
      echo "http1_bench: a server died during the $target $scenario run; logs in $tmp:" >&2
      tail -n 20 "$tmp"/*/*.log >&2 || true
      exit 1
    }
  done
  cpu1=$(cpu_ticks "${pid_of[$target]}")
  be1=$(cpu_ticks "$backend_pid")
  "$python" "$lib/http1_report.py" record --out "$results" --tool "$tool" --stdout "$out" \
    ${log:+--log "$log"} --threads "$threads" --round "$round" --scenario "$scenario" \
    --target "$target" --cpu-ticks $((cpu1 - cpu0)) --backend-ticks $((be1 - be0)) \
    --wall-s "$(awk "BEGIN { print $t1 - $t0 }")" \
    --clk-tck "$clk_tck"
}

scenarios=("fixed-$((RATE / 1000))k" wrk-c50 wrk-c200)
n=${#targets[@]}
echo "http1_bench: targets: ${targets[*]}; threads: ${thread_counts[*]}; rounds: $ROUNDS;" \
  "${DURATION}s per run; results: $results"
for threads in "${thread_counts[@]}"; do
  start_targets "$threads"
  # Warm-up: open the upstream connections and fault the code in before the first measurement.
  for target in "${targets[@]}"; do
    run_bounded 15 /dev/null wrk -t1 -c50 -d2s "$scheme://127.0.0.1:${port_of[$target]}/" || true
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
  echo "### HTTP/1.1 proxy benchmark$([[ $TLS == 1 ]] && echo " over TLS (clients to proxy)"), $stamp"
  echo
  echo "Machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')), shared by the load generator, the backend and the proxy: compare ratios and CPU per request, not raw req/s."
  echo "Peers: $(haproxy -v | head -1 | cut -d' ' -f1-3), $(nginx -v 2>&1 | cut -d' ' -f3), $(h2load --version | head -1), $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2)."
  echo "Command: \`TLS=$TLS TARGETS=\"$TARGETS\" THREADS=\"$THREADS\" ROUNDS=$ROUNDS DURATION=$DURATION RATE=$RATE bench/http1_bench.sh\`"
  echo "Scenarios: ${scenarios[0]} = \`h2load --h1 -c $CLIENTS -t 1 --rps $((RATE / CLIENTS)) -D $DURATION\` ($RATE req/s offered in total); wrk-cN = \`wrk -t1 -cN -d${DURATION}s --latency\` (saturation)."
  echo
  "$python" "$lib/http1_report.py" table "$results"
} >"$table"
echo
cat "$table"
echo
echo "http1_bench: table in $table, raw results in $results"
