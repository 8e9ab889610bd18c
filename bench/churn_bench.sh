#!/usr/bin/env bash
# Deploy churn beside HAProxy (issue 4's benchmark), all on loopback:
#   scripts/build.sh Release && bench/churn_bench.sh
# A steady paced load (h2load --h1 --rps) goes through the proxy while a scheduler-like loop does
# a rolling deploy of a 4-instance service (per instance: new backend on a new port + its
# `switchyard announce`, wait until announced, SIGTERM the old announce, drain, stop the old
# backend), then a machine failure (kill -9 of one backend, its announce left running: it
# withdraws the member when the health check fails). Each round runs the targets in turn (the
# order alternates), each with fresh backends. Prints a markdown table: failed requests and
# p50/p99 during the churn against the steady state before it. See bench/README.md.
#
# Knobs (environment): TARGETS="switchyard haproxy" ROUNDS=3 RATE=1000 CLIENTS=20 STEADY_S=16
# STEP_S=4 DRAIN_S=1 KILL_WATCH_S=8 SWITCHYARD_BIN=build/switchyard OUT_DIR=bench/out
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=lib/common.sh
source "$root/bench/lib/common.sh"
# shellcheck source=lib/peers.sh
source "$root/bench/lib/peers.sh"
# shellcheck source=lib/churn_zookeeper.sh
source "$root/bench/lib/churn_zookeeper.sh"
# shellcheck source=lib/churn_configs.sh
source "$root/bench/lib/churn_configs.sh"

read -r -a targets <<<"${TARGETS:-switchyard haproxy}"
ROUNDS=${ROUNDS:-3}
RATE=${RATE:-1000}
CLIENTS=${CLIENTS:-20}
STEADY_S=${STEADY_S:-16}
STEP_S=${STEP_S:-4}
DRAIN_S=${DRAIN_S:-1}
KILL_WATCH_S=${KILL_WATCH_S:-8}
SWITCHYARD_BIN=${SWITCHYARD_BIN:-$root/build/switchyard}
OUT_DIR=${OUT_DIR:-$root/bench/out}
WARM_S=2            # load before the steady window (connections, pools, first checks)
TAIL_S=2            # load after the churn window, so that the churn window ends under load
INSTANCES=4
KILLED=1            # index of the new instance killed with -9 (the second one)
TIME_LIMIT_S=570    # the whole run stays under 10 minutes: no round starts past this
python=/usr/bin/python3
backend_pid="" announce_pid="" zk_port=""  # set by start_bg / churn_zk_start
report=$root/bench/lib/churn_report.py
probe=$root/bench/lib/churn_probe.py

for tool in nginx haproxy h2load curl timeout; do
  command -v "$tool" >/dev/null || {
    echo "churn_bench: $tool missing (scripts/install-deps.sh installs it)" >&2
    exit 1
  }
done
churn_zk_available || {
  echo "churn_bench: java or /usr/share/java/zookeeper.jar missing (packages" \
    "default-jre-headless, zookeeper: scripts/install-deps.sh)" >&2
  exit 1
}
# The announces are Switchyard's, whatever the target: the same scheduler for both.
[[ -x $SWITCHYARD_BIN ]] || {
  echo "churn_bench: no $SWITCHYARD_BIN (scripts/build.sh Release, or SWITCHYARD_BIN=PATH)" >&2
  exit 1
}
for target in "${targets[@]}"; do
  [[ $target == switchyard || $target == haproxy ]] || {
    echo "churn_bench: unknown target '$target' (switchyard, haproxy)" >&2
    exit 2
  }
done
if ((RATE % CLIENTS)); then
  echo "churn_bench: RATE must be a multiple of CLIENTS=$CLIENTS (h2load's --rps is per client)" >&2
  exit 2
fi
load_s=$((WARM_S + STEADY_S + INSTANCES * STEP_S + KILL_WATCH_S + TAIL_S))

tmp=$(mktemp -d /tmp/switchyard-churn-bench.XXXXXX)
chmod 755 "$tmp"  # nginx workers drop root and must reach their temp paths below it
on_exit() {
  stop_all
  rm -rf "$tmp"
}
trap on_exit EXIT
trap 'echo "churn_bench: interrupted" >&2; exit 130' INT
trap 'exit 143' TERM

mkdir -p "$OUT_DIR"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
results=$OUT_DIR/churn-$stamp.jsonl
table=$OUT_DIR/churn-$stamp.md
raw=$OUT_DIR/churn-$stamp
mkdir -p "$raw"
: >"$results"

now_us() { date +%s%6N; }
# event NAME: the scheduler's clock (the same epoch clock as h2load's per-request log).
event() { echo "$1 $(now_us)" >>"$events"; }
# sleep_until EPOCH_US
sleep_until() {
  local left=$(($1 - $(now_us)))
  ((left <= 0)) || sleep "$(printf '%d.%06d' $((left / 1000000)) $((left % 1000000)))"
}
die() {
  echo "churn_bench: $*" >&2
  exit 1
}

churn_zk_start "$tmp/zookeeper" || exit 1

# start_backend DIR PORT: one nginx (master + one worker) on PORT; sets backend_pid.
start_backend() {
  local dir=$1 port=$2
  write_backend_nginx "$dir" "$port"
  start_bg backend "$dir/stdout.log" nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log"
  wait_http "http://127.0.0.1:$port/health" "$backend_pid" 10 ||
    die "backend on $port does not answer: $(tail -n 3 "$dir/error.log" "$dir/stdout.log")"
}

# start_announce LOG PORT SHARD: `switchyard announce` of 127.0.0.1:PORT in $serverset, with
# the same check cadence as HAProxy's; sets announce_pid.
start_announce() {
  local log=$1 port=$2 shard=$3
  start_bg announce "$log" "$SWITCHYARD_BIN" announce --zk "127.0.0.1:$zk_port" \
    --path "$serverset" --endpoint "http=127.0.0.1:$port" --shard "$shard" \
    --health-url "http://127.0.0.1:$port/health" \
    --health-interval-ms "$CHURN_CHECK_INTERVAL_MS" --health-timeout-ms "$CHURN_CHECK_TIMEOUT_MS" \
    --unhealthy-after "$CHURN_CHECK_FALL" --healthy-after "$CHURN_CHECK_RISE"
}

# wait_announced LOG PID SECONDS: until the announce says its member is in ZooKeeper.
wait_announced() {
  local log=$1 pid=$2 deadline=$((SECONDS + $3))
  while ((SECONDS < deadline)); do
    grep -q "announced $serverset/member_" "$log" 2>/dev/null && return 0
    alive "$pid" || return 1
    sleep 0.05
  done
  return 1
}

# wait_figure WHAT URL WANT PID SECONDS: until churn_probe.py WHAT URL prints WANT; fails at
# once if PID (the proxy) has died.
wait_figure() {
  local what=$1 url=$2 want=$3 pid=$4 deadline=$((SECONDS + $5))
  while ((SECONDS < deadline)); do
    alive "$pid" || { echo "churn_bench: the proxy (pid $pid) died" >&2; return 1; }
    [[ $("$python" "$probe" "$what" "$url" 2>/dev/null) == "$want" ]] && return 0
    sleep 0.2
  done
  return 1
}

# run_target TARGET ROUND: one measured run with fresh backends, announces and proxy.
run_target() {
  local target=$1 round=$2 dir ports i port admin_port proxy_port proxy_pid load_pid t0
  local deploy_start retries="" status=0
  local -a old_ports new_ports backend_pids announce_pids announce_logs
  dir=$tmp/r$round-$target
  mkdir -p "$dir"
  events=$dir/events
  : >"$events"
  serverset=/bench/web-r$round-$target
  read -r -a ports <<<"$(free_ports $((2 * INSTANCES + 2)))"
  old_ports=("${ports[@]:0:INSTANCES}")
  new_ports=("${ports[@]:INSTANCES:INSTANCES}")
  proxy_port=${ports[2 * INSTANCES]}
  admin_port=${ports[2 * INSTANCES + 1]}

  # The service before the deploy: 4 backends on the old ports, each announced.
  for ((i = 0; i < INSTANCES; i++)); do
    start_backend "$dir/old-$i" "${old_ports[i]}"
    backend_pids[i]=$backend_pid
    announce_logs[i]=$dir/announce-old-$i.log
    start_announce "${announce_logs[i]}" "${old_ports[i]}" "$i"
    announce_pids[i]=$announce_pid
  done
  for ((i = 0; i < INSTANCES; i++)); do
    wait_announced "${announce_logs[i]}" "${announce_pids[i]}" 15 ||
      die "announce of ${old_ports[i]} failed: $(tail -n 3 "${announce_logs[i]}")"
  done

  if [[ $target == switchyard ]]; then
    write_churn_switchyard "$dir/proxy" "$proxy_port" "$admin_port" "$zk_port" "$serverset"
    "$SWITCHYARD_BIN" check --config "$dir/proxy/switchyard.yaml" >"$dir/proxy/check.log" 2>&1 ||
      die "switchyard check refuses the configuration: $(cat "$dir/proxy/check.log")"
    start_bg proxy "$dir/proxy/stdout.log" "$SWITCHYARD_BIN" serve \
      --config "$dir/proxy/switchyard.yaml"
    wait_figure switchyard-alive "http://127.0.0.1:$admin_port" "$INSTANCES" "$proxy_pid" 15 ||
      die "switchyard does not route to the $INSTANCES instances: $(tail -n 5 "$dir/proxy/stdout.log")"
  else
    # Every slot, old and new: the list Synapse would render once the deploy is under way.
    write_churn_haproxy "$dir/proxy" "$proxy_port" "$admin_port" "${old_ports[@]}" "${new_ports[@]}"
    haproxy -c -f "$dir/proxy/haproxy.cfg" >"$dir/proxy/check.log" 2>&1 ||
      die "haproxy refuses the configuration: $(cat "$dir/proxy/check.log")"
    start_bg proxy "$dir/proxy/stdout.log" haproxy -db -f "$dir/proxy/haproxy.cfg"
    # The new slots have nothing listening yet: wait until their checks marked them down.
    wait_figure haproxy-up "http://127.0.0.1:$admin_port/stats" "$INSTANCES" "$proxy_pid" 15 ||
      die "haproxy does not see exactly the $INSTANCES old slots up: $(tail -n 5 "$dir/proxy/stdout.log")"
  fi
  wait_http "http://127.0.0.1:$proxy_port/" "$proxy_pid" 10 || die "$target does not answer"

  # The load: h2load paces every client at RATE / CLIENTS req/s for the whole run.
  t0=$(now_us)
  start_bg load "$dir/h2load.out" timeout -k 5 $((load_s + 30)) h2load --h1 -c "$CLIENTS" -t 1 \
    --rps $((RATE / CLIENTS)) -D "$load_s" --log-file "$dir/h2load.log" \
    "http://127.0.0.1:$proxy_port/"
  echo "steady_start $((t0 + WARM_S * 1000000))" >>"$events"
  deploy_start=$((t0 + (WARM_S + STEADY_S) * 1000000))
  sleep_until "$deploy_start"
  event deploy_start

  # The rolling deploy: one instance per STEP_S slot.
  for ((i = 0; i < INSTANCES; i++)); do
    event "step${i}_start"
    start_backend "$dir/new-$i" "${new_ports[i]}"
    local new_backend=$backend_pid
    start_announce "$dir/announce-new-$i.log" "${new_ports[i]}" "$i"
    local new_announce=$announce_pid
    wait_announced "$dir/announce-new-$i.log" "$new_announce" 10 ||
      die "new instance $i (${new_ports[i]}) not announced in 10 s:" \
        "$(tail -n 3 "$dir/announce-new-$i.log")"
    event "step${i}_announced"
    stop_pids "${announce_pids[i]}"  # SIGTERM: the member is removed, then the announce exits
    event "step${i}_deregistered"
    sleep "$DRAIN_S"
    stop_pids "${backend_pids[i]}"  # SIGTERM: nginx's fast shutdown closes its connections
    event "step${i}_stopped"
    backend_pids[i]=$new_backend
    announce_pids[i]=$new_announce
    sleep_until $((deploy_start + (i + 1) * STEP_S * 1000000))
  done

  # The machine failure: the backend (nginx master and worker) dies at once; its announce stays.
  event kill
  # shellcheck disable=SC2046 # one PID a word
  kill -KILL $(proc_tree "${backend_pids[KILLED]}") 2>/dev/null || true
  wait "${backend_pids[KILLED]}" 2>/dev/null || true
  forget_pid "${backend_pids[KILLED]}"
  sleep "$KILL_WATCH_S"
  event churn_end
  # A step slower than its slot delays the rest; the churn must still end under load.
  (($(now_us) < t0 + (load_s - 1) * 1000000)) ||
    die "the deploy overran its $((INSTANCES * STEP_S)) s (events: $(tr '\n' ' ' <"$events"));" \
      "raise STEP_S"

  wait "$load_pid" || status=$?
  forget_pid "$load_pid"
  ((status == 0)) || die "h2load exited with $status: $(tail -n 5 "$dir/h2load.out")"
  if [[ $target == switchyard ]]; then
    retries=$("$python" "$probe" switchyard-retries "http://127.0.0.1:$admin_port" || true)
    curl -s --max-time 2 "http://127.0.0.1:$admin_port/clusters" >"$dir/clusters.json" || true
    curl -s --max-time 2 "http://127.0.0.1:$admin_port/metrics" >"$dir/metrics.txt" || true
  else
    retries=$("$python" "$probe" haproxy-retries "http://127.0.0.1:$admin_port/stats" || true)
    curl -s --max-time 2 "http://127.0.0.1:$admin_port/stats;csv" >"$dir/stats.csv" || true
  fi
  "$python" "$report" record --out "$results" --stdout "$dir/h2load.out" --log "$dir/h2load.log" \
    --events "$events" --target "$target" --round "$round" ${retries:+--retries "$retries"} ||
    die "no figures for $target round $round"

  # Keep what explains a failure: the scheduler's events, the failed requests, the proxy's view.
  mkdir -p "$raw/r$round-$target"
  awk -F'\t' '$2 < 200 || $2 >= 300' "$dir/h2load.log" >"$raw/r$round-$target/failed.tsv"
  awk -F'\t' '$3 > 10000' "$dir/h2load.log" >"$raw/r$round-$target/slow.tsv"  # over 10 ms
  cp "$events" "$dir/h2load.out" "$raw/r$round-$target/"
  cp "$dir"/clusters.json "$dir"/metrics.txt "$dir"/stats.csv "$dir"/proxy/*.cfg \
    "$dir"/proxy/*.yaml "$raw/r$round-$target/" 2>/dev/null || true

  stop_pids "$proxy_pid" "${announce_pids[@]}"
  for i in "${!backend_pids[@]}"; do
    ((i == KILLED)) || stop_pids "${backend_pids[i]}"
  done
  rm -f "$dir/h2load.log"
}

run_s=$((load_s + 15))
echo "churn_bench: ${targets[*]}, $ROUNDS round(s), $RATE req/s from $CLIENTS clients," \
  "${load_s} s of load per run (steady ${STEADY_S} s, deploy $((INSTANCES * STEP_S)) s," \
  "kill -9 watched ${KILL_WATCH_S} s); ZooKeeper on 127.0.0.1:$zk_port" >&2
for ((round = 1; round <= ROUNDS; round++)); do
  order=("${targets[@]}")
  if ((round % 2 == 0)); then  # A B, then B A: neither always runs first
    order=()
    for ((i = ${#targets[@]} - 1; i >= 0; i--)); do order+=("${targets[i]}"); done
  fi
  for target in "${order[@]}"; do
    if ((SECONDS + run_s > TIME_LIMIT_S)); then
      echo "churn_bench: stopping before round $round $target: the run would pass" \
        "$TIME_LIMIT_S s" >&2
      break 2
    fi
    echo "churn_bench: round $round: $target" >&2
    run_target "$target" "$round"
  done
done

{
  echo "Deploy churn, $(date -u +%Y-%m-%dT%H:%MZ): $RATE req/s (h2load --h1 -c $CLIENTS" \
    "--rps $((RATE / CLIENTS))), steady ${STEADY_S} s, rolling deploy of $INSTANCES instances" \
    "(${STEP_S} s a step, ${DRAIN_S} s drain), kill -9 of one, watched ${KILL_WATCH_S} s."
  echo "Switchyard $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')," \
    "$(haproxy -v | head -1 | cut -d' ' -f1-3), $(h2load --version | head -1)."
  echo
  "$python" "$report" table "$results"
} | tee "$table"
echo "churn_bench: table in $table, runs in $results, raw in $raw/" >&2
