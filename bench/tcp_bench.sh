#!/usr/bin/env bash
# TCP tunnel benchmark: Switchyard's `protocol: tcp` listener beside HAProxy 2.6 `mode tcp`,
# measured, never asserted.
#
#   bench/tcp_bench.sh
#
# Knobs (environment):
#   TARGETS="haproxy switchyard"   which proxies to measure (haproxy is the reference)
#   THREADS=1                      threads (workers) per proxy
#   ROUNDS=3                       rounds, each in a rotated target order
#   DURATION=5                     seconds per measured run
#   SCENARIOS="up 1,down 1,up 8,rr 16"   MODE CONNECTIONS, comma-separated (modes: up, down, rr)
#   SWITCHYARD_BIN=build/switchyard
#   OUT_DIR=bench/out
#
# Scenarios, each through one proxy to ONE backend (bench/tcp_load.py serve): up-1 and down-1
# (one tunnel streaming 256 KiB writes one way), up-8 (eight tunnels), rr-16 (16 tunnels doing
# 64-byte request/response round trips). Figures: MB/s or round trips/s, p99 for rr, and the
# proxy's CPU seconds per GB moved (or per 100k round trips) from /proc: the figure to compare,
# since client, backend and proxy share the machine's cores.
# Everything binds 127.0.0.1, every run is bounded by `timeout`, and every process started here
# is stopped by PID on exit, error or Ctrl-C.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
lib=$root/bench/lib
# shellcheck source=lib/common.sh
source "$lib/common.sh"

TARGETS=${TARGETS:-haproxy switchyard}
THREADS=${THREADS:-1}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5}
SWITCHYARD_BIN=${SWITCHYARD_BIN:-$root/build/switchyard}
OUT_DIR=${OUT_DIR:-$root/bench/out}
python=/usr/bin/python3
load=$root/bench/tcp_load.py
clk_tck=$(getconf CLK_TCK)
read -r -a targets <<<"$TARGETS"

for target in "${targets[@]}"; do
  case "$target" in
    haproxy) command -v haproxy >/dev/null || { echo "tcp_bench: haproxy not found" >&2; exit 1; } ;;
    switchyard)
      [[ -x "$SWITCHYARD_BIN" ]] || {
        echo "tcp_bench: no switchyard binary at $SWITCHYARD_BIN (scripts/build.sh Release," \
          "or set SWITCHYARD_BIN)" >&2
        exit 1
      }
      ;;
    *) echo "tcp_bench: unknown target '$target' (haproxy, switchyard)" >&2; exit 2 ;;
  esac
done

tmp=$(mktemp -d /tmp/switchyard-tcp-bench.XXXXXX)
on_exit() {
  stop_all
  rm -rf "$tmp"
}
trap on_exit EXIT
trap 'echo "tcp_bench: interrupted" >&2; exit 130' INT
trap 'exit 143' TERM

mkdir -p "$OUT_DIR"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
results=$OUT_DIR/tcp-$stamp.jsonl
: >"$results"

read -r backend_port <<<"$(free_ports 1)"
start_bg backend "$tmp/backend.log" "$python" "$load" serve --port "$backend_port" --seconds 3600

declare -A port_of pid_of
for target in "${targets[@]}"; do
  dir=$tmp/$target
  mkdir -p "$dir"
  read -r port admin_port <<<"$(free_ports 2)"
  port_of[$target]=$port
  case "$target" in
    haproxy)
      cat >"$dir/haproxy.cfg" <<CONF
global
  nbthread $THREADS
  maxconn 8000

defaults
  mode tcp
  timeout connect 5s
  timeout client 60s
  timeout server 60s

frontend bench
  bind 127.0.0.1:$port
  default_backend backends

backend backends
  balance roundrobin
  server b1 127.0.0.1:$backend_port
CONF
      start_bg haproxy "$dir/stdout.log" haproxy -db -f "$dir/haproxy.cfg"
      pid_of[$target]=$haproxy_pid
      ;;
    switchyard)
      cat >"$dir/switchyard.yaml" <<CONF
workers: $THREADS
listeners:
  - name: bench
    address: "127.0.0.1:$port"
    protocol: tcp
    cluster: backend
clusters:
  - name: backend
    discovery: { static: ["127.0.0.1:$backend_port"] }
admin:
  address: "127.0.0.1:$admin_port"
CONF
      start_bg switchyard "$dir/stdout.log" "$SWITCHYARD_BIN" serve --config "$dir/switchyard.yaml"
      pid_of[$target]=$switchyard_pid
      ;;
  esac
done
# Ready once a round trip goes through each.
for target in "${targets[@]}"; do
  ok=
  for _ in $(seq 50); do
    if run_bounded 10 /dev/null "$python" "$load" run --port "${port_of[$target]}" --mode rr \
      --conns 1 --seconds 0.1; then
      ok=1
      break
    fi
    sleep 0.2
  done
  [[ -n $ok ]] || { echo "tcp_bench: $target does not tunnel; logs in $tmp" >&2; tail -n 20 "$tmp"/*/*.log >&2; exit 1; }
done

IFS=, read -r -a scenarios <<<"${SCENARIOS:-up 1,down 1,up 8,rr 16}"
n=${#targets[@]}
limit=$((DURATION + 40))
echo "tcp_bench: targets: ${targets[*]}; threads: $THREADS; rounds: $ROUNDS; ${DURATION}s per run;" \
  "results: $results"
for ((round = 1; round <= ROUNDS; round++)); do
  order=()
  for ((i = 0; i < n; i++)); do order+=("${targets[$(((i + round - 1) % n))]}"); done
  echo "== round $round/$ROUNDS: ${order[*]}"
  for scenario in "${scenarios[@]}"; do
    read -r mode conns <<<"$scenario"
    for target in "${order[@]}"; do
      cpu0=$(cpu_ticks "${pid_of[$target]}")
      run_bounded "$limit" "$tmp/run.out" "$python" "$load" run --port "${port_of[$target]}" \
        --mode "$mode" --conns "$conns" --seconds "$DURATION" || true
      cpu1=$(cpu_ticks "${pid_of[$target]}")
      alive "${pid_of[$target]}" || { echo "tcp_bench: $target died; logs in $tmp" >&2; exit 1; }
      "$python" - "$tmp/run.out" "$target" "$round" "$mode-$conns" "$((cpu1 - cpu0))" "$clk_tck" \
        >>"$results" <<'PY'
import json, sys
path, target, rnd, scenario, ticks, clk = sys.argv[1:]
try:
    r = json.loads(open(path).read().strip().splitlines()[-1])
except (IndexError, ValueError):
    r = {"errors": 1, "first_error": open(path).read()[-300:]}
r.update(target=target, round=int(rnd), scenario=scenario, cpu_s=int(ticks) / int(clk))
print(json.dumps(r))
PY
    done
  done
done

# The table: medians over the rounds.
"$python" - "$results" "$THREADS" <<'PY' | tee "$OUT_DIR/tcp-$stamp.md"
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print(f"TCP tunnel, {sys.argv[2]} thread(s) per proxy; medians of {max(r['round'] for r in rows)} rounds\n")
print("| scenario | target | throughput | p99 µs | proxy CPU | CPU per unit | errors |")
print("|---|---|---|---|---|---|---|")
for scenario in dict.fromkeys(r["scenario"] for r in rows):
    for target in dict.fromkeys(r["target"] for r in rows):
        rs = [r for r in rows if r["scenario"] == scenario and r["target"] == target]
        if not rs:
            continue
        # Each figure is taken per run, then the median over the rounds.
        med = lambda f: statistics.median(f(r) for r in rs)
        wall = lambda r: r.get("wall_s") or 1
        errors = sum(r.get("errors", 0) for r in rs)
        cpu_share = med(lambda r: r["cpu_s"] / wall(r))
        if scenario.startswith("rr"):
            through = f"{med(lambda r: r.get('round_trips', 0) / wall(r)):,.0f} round trips/s"
            unit = f"{med(lambda r: r['cpu_s'] / max(r.get('round_trips', 0), 1) * 1e5):.2f} s / 100k trips"
            p99 = f"{med(lambda r: r.get('p99_us', 0)):.0f}"
        else:
            through = f"{med(lambda r: r.get('bytes', 0) / 1e6 / wall(r)):,.0f} MB/s"
            unit = f"{med(lambda r: r['cpu_s'] / max(r.get('bytes', 0) / 1e9, 1e-9)):.3f} s / GB"
            p99 = "-"
        cpu = cpu_share
        print(f"| {scenario} | {target} | {through} | {p99} | {cpu * 100:.0f} % | {unit} | {errors} |")
PY
