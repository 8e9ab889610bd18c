#!/usr/bin/env bash
# Tail latency with one slow instance among four (issue 5's benchmark), all on loopback:
#   scripts/build.sh Release && bench/tail_latency_bench.sh
# Four backends (one nginx, echo_sleep): three answer in FAST_MS, one in SLOW_MS (ten times
# slower). A fixed offered load (h2load --h1 --rps, RATE req/s in total from CLIENTS
# connections) goes through each target in turn: Switchyard with round_robin, least_request and
# p2c_ewma, and HAProxy 2.6 with `balance leastconn`. ROUNDS rounds, the order reversed every
# other round, fresh backends and proxy for every run. Prints a markdown table of medians: p50,
# p90, p99, p99.9, the slow instance's share (counted at the backends), failures, proxy CPU.
#
# Knobs (environment): TARGETS="round_robin least_request p2c_ewma haproxy" ROUNDS=3 RATE=1000
# CLIENTS=50 DURATION=20 WARM_S=3 FAST_MS=2 SLOW_MS=20 THREADS=2 STAGGER=0
# SWITCHYARD_BIN=build/switchyard OUT_DIR=bench/out
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=lib/common.sh
source "$root/bench/lib/common.sh"
# shellcheck source=lib/peers.sh
source "$root/bench/lib/peers.sh"
# shellcheck source=lib/tail_configs.sh
source "$root/bench/lib/tail_configs.sh"

read -r -a targets <<<"${TARGETS:-round_robin least_request p2c_ewma haproxy}"
ROUNDS=${ROUNDS:-3}
RATE=${RATE:-1000}
CLIENTS=${CLIENTS:-50}
DURATION=${DURATION:-20}
WARM_S=${WARM_S:-3}
FAST_MS=${FAST_MS:-2}
SLOW_MS=${SLOW_MS:-20}
THREADS=${THREADS:-2}
SWITCHYARD_BIN=${SWITCHYARD_BIN:-$root/build/switchyard}
OUT_DIR=${OUT_DIR:-$root/bench/out}
TIME_LIMIT_S=570  # the whole run stays under 10 minutes: no run starts past this
python=/usr/bin/python3
report=$root/bench/lib/tail_report.py
backend_pid="" proxy_pid=""  # set by start_bg

for tool in nginx haproxy h2load curl timeout; do
  command -v "$tool" >/dev/null || {
    echo "tail_latency_bench: $tool missing (scripts/install-deps.sh installs it)" >&2
    exit 1
  }
done
[[ -f /usr/lib/nginx/modules/ngx_http_echo_module.so ]] || {
  echo "tail_latency_bench: nginx's echo module missing (package libnginx-mod-http-echo)" >&2
  exit 1
}
[[ -x $SWITCHYARD_BIN ]] || {
  echo "tail_latency_bench: no $SWITCHYARD_BIN (scripts/build.sh Release, or SWITCHYARD_BIN=PATH)" >&2
  exit 1
}
for target in "${targets[@]}"; do
  case $target in
    round_robin | least_request | p2c_ewma | weighted_round_robin | haproxy) ;;
    *)
      echo "tail_latency_bench: unknown target '$target' (a Switchyard policy, or haproxy)" >&2
      exit 2
      ;;
  esac
done
if ((RATE % CLIENTS)); then
  echo "tail_latency_bench: RATE must be a multiple of CLIENTS=$CLIENTS (h2load's --rps is per" \
    "client)" >&2
  exit 2
fi
hz=$(getconf CLK_TCK)
# h2load's --rps runs one timer per client from the moment it connects. Connected all at once
# (the default, as in the recorded runs), the CLIENTS timers fire nearly together: the load
# arrives as one burst of CLIENTS requests every CLIENTS/RATE seconds, and in-flight counts peak
# with each burst. STAGGER=1 opens the connections one every 1/RATE s, rounded up to whole milliseconds
# (-r 1 --rate-period), so that the requests arrive evenly spread; -r excludes -D, so such a run
# is RATE * DURATION requests (-n).
STAGGER=${STAGGER:-0}
load_args=(--h1 -c "$CLIENTS" -t 1 --rps $((RATE / CLIENTS)))
if ((STAGGER)); then
  load_args+=(-r 1 --rate-period "$(((1000 + RATE - 1) / RATE))ms" -n $((RATE * DURATION)))
else
  load_args+=(-D "$DURATION")
fi

tmp=$(mktemp -d /tmp/switchyard-tail-bench.XXXXXX)
chmod 755 "$tmp"  # nginx workers drop root and must reach their temp paths below it
on_exit() {
  stop_all
  rm -rf "$tmp"
}
trap on_exit EXIT
trap 'echo "tail_latency_bench: interrupted" >&2; exit 130' INT
trap 'exit 143' TERM

mkdir -p "$OUT_DIR"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
results=$OUT_DIR/tail-$stamp.jsonl
table=$OUT_DIR/tail-$stamp.md
: >"$results"
die() {
  echo "tail_latency_bench: $*" >&2
  exit 1
}
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

# run_target TARGET ROUND: one measured run with fresh backends and proxy.
run_target() {
  local target=$1 round=$2 dir ports proxy_port admin_port slow_port cpu0 cpu1 status=0
  local -a backend_ports fast_logs=()
  dir=$tmp/r$round-$target
  read -r -a ports <<<"$(free_ports 6)"
  backend_ports=("${ports[@]:0:4}")
  slow_port=${backend_ports[3]}
  proxy_port=${ports[4]}
  admin_port=${ports[5]}

  write_tail_backends "$dir/backends" "$FAST_MS" "$SLOW_MS" "$slow_port" "${backend_ports[@]}"
  start_bg backend "$dir/backends/stdout.log" nginx -p "$dir/backends" \
    -c "$dir/backends/nginx.conf" -e "$dir/backends/error.log"
  for port in "${backend_ports[@]}"; do
    wait_http "http://127.0.0.1:$port/health" "$backend_pid" 10 ||
      die "backend on $port does not answer: $(tail -n 3 "$dir/backends/error.log")"
  done

  if [[ $target == haproxy ]]; then
    write_tail_haproxy "$dir/proxy" "$proxy_port" "$THREADS" "${backend_ports[@]}"
    haproxy -c -f "$dir/proxy/haproxy.cfg" >"$dir/proxy/check.log" 2>&1 ||
      die "haproxy refuses the configuration: $(cat "$dir/proxy/check.log")"
    start_bg proxy "$dir/proxy/stdout.log" haproxy -db -f "$dir/proxy/haproxy.cfg"
  else
    write_tail_switchyard "$dir/proxy" "$proxy_port" "$admin_port" "$THREADS" "$target" \
      "${backend_ports[@]}"
    "$SWITCHYARD_BIN" check --config "$dir/proxy/switchyard.yaml" >"$dir/proxy/check.log" 2>&1 ||
      die "switchyard check refuses the configuration: $(cat "$dir/proxy/check.log")"
    start_bg proxy "$dir/proxy/stdout.log" "$SWITCHYARD_BIN" serve \
      --config "$dir/proxy/switchyard.yaml"
  fi
  wait_http "http://127.0.0.1:$proxy_port/health" "$proxy_pid" 10 || die "$target does not answer"
  # The readiness probes above went through the proxy to some backend: count from here.
  for port in "${backend_ports[@]}"; do : >"$dir/backends/access-$port.log"; done
  for port in "${backend_ports[@]:0:3}"; do fast_logs+=("$dir/backends/access-$port.log"); done

  cpu0=$(cpu_ticks "$proxy_pid")
  run_bounded $((DURATION + 30)) "$dir/h2load.out" h2load "${load_args[@]}" \
    --log-file "$dir/h2load.log" "http://127.0.0.1:$proxy_port/" || status=$?
  cpu1=$(cpu_ticks "$proxy_pid")
  ((status == 0)) || die "h2load exited with $status: $(tail -n 5 "$dir/h2load.out")"
  alive "$proxy_pid" || die "$target died during the run: $(tail -n 5 "$dir/proxy/stdout.log")"

  "$python" "$report" record --out "$results" --stdout "$dir/h2load.out" --log "$dir/h2load.log" \
    --warm-s "$WARM_S" --target "$target" --round "$round" \
    --slow-log "$dir/backends/access-$slow_port.log" --fast-logs "${fast_logs[@]}" \
    --cpu-ticks $((cpu1 - cpu0)) --ticks-per-s "$hz" || die "no figures for $target round $round"
  stop_pids "$proxy_pid" "$backend_pid"
  rm -rf "$dir"
}

run_s=$((DURATION + 10))
echo "tail_latency_bench: ${targets[*]}, $ROUNDS round(s), $RATE req/s from $CLIENTS" \
  "connections for ${DURATION} s per run; backends ${FAST_MS} ms x3 and ${SLOW_MS} ms x1;" \
  "load average $load_before" >&2
for ((round = 1; round <= ROUNDS; round++)); do
  order=("${targets[@]}")
  if ((round % 2 == 0)); then  # A B C D, then D C B A: none always runs first
    order=()
    for ((i = ${#targets[@]} - 1; i >= 0; i--)); do order+=("${targets[i]}"); done
  fi
  for target in "${order[@]}"; do
    if ((SECONDS + run_s > TIME_LIMIT_S)); then
      echo "tail_latency_bench: stopping before round $round $target: the run would pass" \
        "$TIME_LIMIT_S s" >&2
      break 2
    fi
    echo "tail_latency_bench: round $round: $target" >&2
    run_target "$target" "$round"
  done
done

{
  echo "Tail latency, $(date -u +%Y-%m-%dT%H:%MZ): backends ${FAST_MS} ms x3 and ${SLOW_MS} ms" \
    "x1 (nginx echo_sleep); $RATE req/s offered (h2load ${load_args[*]}), first ${WARM_S} s" \
    "left out of the percentiles;" \
    "$THREADS proxy threads; load average before $load_before, after" \
    "$(cut -d' ' -f1-3 /proc/loadavg)."
  echo "Switchyard $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')," \
    "$(haproxy -v | head -1 | cut -d' ' -f1-3), $(h2load --version | head -1)."
  echo
  "$python" "$report" table "$results"
} | tee "$table"
echo "tail_latency_bench: table in $table, runs in $results" >&2
