#!/usr/bin/env bash
# Deploy safety with the default configuration, beside HAProxy as a SmartStack operator runs it
# (issue 12's benchmark), all on loopback:
#   scripts/build.sh Release && bench/churn_bench.sh
# A paced load (h2load --h1 --rps) goes through the proxy in front of a 4-instance service whose
# members are in a ServerSet in a real ZooKeeper, while a scheduler-like loop runs one scenario:
#   deploy  rolling deploy, Aurora's way: per instance, the new member is announced about 1 s
#           before its backend listens, then the old member is deregistered, drained, stopped;
#   kill    kill -9 of one instance's backend and of its announce (the host dies): its member
#           stays until its ZooKeeper session expires;
#   freeze  SIGSTOP of every process of one instance's backend (nginx master and worker) for
#           FREEZE_S, its member left in ZooKeeper (its announce keeps running), then SIGCONT.
# Each scenario runs per target in turn (the order alternates), with fresh backends, at each
# rate. Prints markdown tables: failed requests, requests over 1 s, p99 during the churn, and for
# the deploy how long each new instance stayed out of rotation after its port listened (from the
# backends' access logs). See bench/README.md.
#
# Knobs (environment): TARGETS="switchyard haproxy" SCENARIOS="deploy kill freeze"
# RATES="1000 5000" ROUNDS=1 CLIENTS=20 WORKERS=2 TUNED=0 STEADY_S=4 STEP_S=3 ANNOUNCE_LEAD_S=1
# DRAIN_S=1 AFTER_S=5 KILL_WATCH_S=8 FREEZE_S=6 SESSION_TIMEOUT_MS=4000 TIME_LIMIT=570
# SWITCHYARD_BIN=build/switchyard OUT_DIR=bench/out
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=lib/common.sh
source "$root/bench/lib/common.sh"
# shellcheck source=lib/churn_zookeeper.sh
source "$root/bench/lib/churn_zookeeper.sh"
# shellcheck source=lib/churn_configs.sh
source "$root/bench/lib/churn_configs.sh"

read -r -a targets <<<"${TARGETS:-switchyard haproxy}"
read -r -a scenarios <<<"${SCENARIOS:-deploy kill freeze}"
read -r -a rates <<<"${RATES:-1000 5000}"
ROUNDS=${ROUNDS:-1}
CLIENTS=${CLIENTS:-20}
WORKERS=${WORKERS:-2}
TUNED=${TUNED:-0}
STEADY_S=${STEADY_S:-4}
STEP_S=${STEP_S:-3}
ANNOUNCE_LEAD_S=${ANNOUNCE_LEAD_S:-1}
DRAIN_S=${DRAIN_S:-1}
AFTER_S=${AFTER_S:-5}
KILL_WATCH_S=${KILL_WATCH_S:-8}
FREEZE_S=${FREEZE_S:-6}
SESSION_TIMEOUT_MS=${SESSION_TIMEOUT_MS:-4000}
TIME_LIMIT=${TIME_LIMIT:-570}
SWITCHYARD_BIN=${SWITCHYARD_BIN:-$root/build/switchyard}
OUT_DIR=${OUT_DIR:-$root/bench/out}
WARM_S=2            # load before the steady window (connections, pools, first checks)
TAIL_S=1            # load after the churn window, so that the churn window ends under load
SETUP_S=12          # a run's start and stop around its load, for the time limit
INSTANCES=4
VICTIM=1            # the instance killed or frozen (the second one)
python=/usr/bin/python3
backend_pid="" announce_pid="" proxy_pid="" synapse_pid="" load_pid="" zk_port=""
frozen=""           # PIDs stopped with SIGSTOP: continued on any exit
report=$root/bench/lib/churn_report.py
probe=$root/bench/lib/churn_probe.py
synapse=$root/bench/lib/churn_synapse.py

die() {
  echo "churn_bench: $*" >&2
  exit 1
}
is_uint() { [[ $1 =~ ^[0-9]+$ ]]; }

for tool in nginx haproxy h2load curl timeout pgrep; do
  command -v "$tool" >/dev/null || die "$tool missing (scripts/install-deps.sh installs it)"
done
[[ -x $python ]] || die "$python missing (package python3)"
churn_zk_available ||
  die "java or /usr/share/java/zookeeper.jar missing (packages default-jre-headless, zookeeper:" \
    "scripts/install-deps.sh)"
# The announces are Switchyard's, whatever the target: the same scheduler for both.
[[ -x $SWITCHYARD_BIN ]] ||
  die "no $SWITCHYARD_BIN (scripts/build.sh Release, or SWITCHYARD_BIN=PATH)"
for target in "${targets[@]}"; do
  case $target in
    switchyard) ;;
    haproxy)
      "$python" -c 'import kazoo' 2>/dev/null ||
        die "the haproxy target's Synapse (lib/churn_synapse.py) needs python3-kazoo" \
          "(apt-get install python3-kazoo), or TARGETS=switchyard"
      ;;
    *) die "unknown target '$target' (switchyard, haproxy)" ;;
  esac
done
for scenario in "${scenarios[@]}"; do
  [[ $scenario == deploy || $scenario == kill || $scenario == freeze ]] ||
    die "unknown scenario '$scenario' (deploy, kill, freeze)"
done
for knob in ROUNDS CLIENTS WORKERS STEADY_S STEP_S ANNOUNCE_LEAD_S DRAIN_S AFTER_S KILL_WATCH_S \
  FREEZE_S SESSION_TIMEOUT_MS TIME_LIMIT; do
  is_uint "${!knob}" || die "$knob must be a whole number, not '${!knob}'"
done
((CLIENTS > 0)) || die "CLIENTS must be at least 1"
((FREEZE_S <= 30)) || die "FREEZE_S is at most 30 (a frozen backend must come back in the run)"
for rate in "${rates[@]}"; do
  if ! is_uint "$rate" || ((rate == 0)); then die "RATES: '$rate' is not a rate in req/s"; fi
  ((rate % CLIENTS == 0)) ||
    die "each of RATES must be a multiple of CLIENTS=$CLIENTS (h2load's --rps is per client)"
done
((STEP_S >= ANNOUNCE_LEAD_S + DRAIN_S + 1)) ||
  die "STEP_S=$STEP_S is too short for ANNOUNCE_LEAD_S + DRAIN_S + 1 s of process start/stop"

# load_seconds SCENARIO: seconds of load of one run.
load_seconds() {
  local churn
  case $1 in
    deploy) churn=$((INSTANCES * STEP_S + AFTER_S)) ;;
    kill) churn=$KILL_WATCH_S ;;
    freeze) churn=$((FREEZE_S + AFTER_S)) ;;
  esac
  echo $((WARM_S + STEADY_S + churn + TAIL_S))
}

tmp=$(mktemp -d /tmp/switchyard-churn-bench.XXXXXX)
chmod 755 "$tmp"  # nginx workers drop root and must reach their temp paths below it
on_exit() {
  # shellcheck disable=SC2086 # one PID a word
  [[ -z $frozen ]] || kill -CONT $frozen 2>/dev/null || true
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
# nap SECONDS: sleep in the background and wait for it, so that a Ctrl-C (the INT trap) acts at
# once rather than when a foreground sleep ends.
nap() {
  sleep "$1" &
  wait "$!"
}
# sleep_until EPOCH_US
sleep_until() {
  local left=$(($1 - $(now_us)))
  ((left <= 0)) || nap "$(printf '%d.%06d' $((left / 1000000)) $((left % 1000000)))"
}

churn_zk_start "$tmp/zookeeper" || exit 1

# wait_listening PORT PID SECONDS: until 127.0.0.1:PORT accepts a connection (polled every 5 ms,
# so the listen_ event is within a few ms of the real moment); fails if PID died.
wait_listening() {
  local port=$1 pid=$2 deadline=$((SECONDS + $3))
  while ((SECONDS < deadline)); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    alive "$pid" || return 1
    sleep 0.005
  done
  return 1
}

# start_backend DIR PORT: one nginx (master + one worker) on PORT; sets backend_pid.
start_backend() {
  local dir=$1 port=$2
  write_churn_backend "$dir" "$port"
  start_bg backend "$dir/stdout.log" nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log"
  wait_listening "$port" "$backend_pid" 10 ||
    die "backend on $port does not listen: $(tail -n 3 "$dir/error.log" "$dir/stdout.log")"
}

# start_announce LOG PORT SHARD: `switchyard announce` of 127.0.0.1:PORT in $serverset, without
# --health-url: the member is created at once, listening or not (as Aurora's executor announces a
# task when it starts, before the service has bound its port); sets announce_pid.
start_announce() {
  local log=$1 port=$2 shard=$3
  start_bg announce "$log" "$SWITCHYARD_BIN" announce --zk "127.0.0.1:$zk_port" \
    --path "$serverset" --endpoint "http=127.0.0.1:$port" --shard "$shard" \
    --session-timeout-ms "$SESSION_TIMEOUT_MS"
}

# wait_announced LOG PID SECONDS: until the announce says its member is in ZooKeeper.
wait_announced() {
  local log=$1 pid=$2 deadline=$((SECONDS + $3))
  while ((SECONDS < deadline)); do
    grep -q "announced $serverset/member_" "$log" 2>/dev/null && return 0
    alive "$pid" || return 1
    sleep 0.02
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

# signal_tree SIGNAL PID: SIGNAL to PID and every descendant (nginx master and workers).
signal_tree() {
  # shellcheck disable=SC2046 # one PID a word
  kill "-$1" $(proc_tree "$2") 2>/dev/null || true
}

# deploy STEP_START_US...: the rolling deploy, one instance per STEP_S slot.
run_deploy() {
  local deploy_start=$1 i t_announced new_backend new_announce
  for ((i = 0; i < INSTANCES; i++)); do
    event "step${i}_start"
    start_announce "$dir/announce-new$i.log" "${new_ports[i]}" "$i"
    new_announce=$announce_pid
    wait_announced "$dir/announce-new$i.log" "$new_announce" 10 ||
      die "new instance $i (${new_ports[i]}) not announced in 10 s:" \
        "$(tail -n 3 "$dir/announce-new$i.log")"
    t_announced=$(now_us)
    echo "announced_new$i $t_announced" >>"$events"
    sleep_until $((t_announced + ANNOUNCE_LEAD_S * 1000000))
    start_backend "$dir/new$i" "${new_ports[i]}"
    new_backend=$backend_pid
    event "listen_new$i"
    stop_pids "${announce_pids[i]}"  # SIGTERM: the member is removed, then the announce exits
    event "deregistered_old$i"
    nap "$DRAIN_S"
    stop_pids "${backend_pids[i]}"  # SIGTERM: nginx's fast shutdown closes its connections
    event "stopped_old$i"
    backend_pids[i]=$new_backend
    announce_pids[i]=$new_announce
    sleep_until $((deploy_start + (i + 1) * STEP_S * 1000000))
  done
  event deploy_done
  nap "$AFTER_S"
}

# run_kill: the host of one instance dies: its backend (nginx master and worker) and its announce,
# at once. Its member stays in ZooKeeper until the announce's session expires
# (SESSION_TIMEOUT_MS); KILL_WATCH_S watched from the kill.
run_kill() {
  local pid
  signal_tree KILL "${backend_pids[VICTIM]}"
  kill -KILL "${announce_pids[VICTIM]}" 2>/dev/null || true
  for pid in "${backend_pids[VICTIM]}" "${announce_pids[VICTIM]}"; do
    wait "$pid" 2>/dev/null || true
    forget_pid "$pid"
  done
  backend_pids[VICTIM]="" announce_pids[VICTIM]=""
  event killed
  nap "$KILL_WATCH_S"
}

# run_freeze: every process of one instance's backend stopped for FREEZE_S (the kernel keeps its
# sockets: connections are accepted into the backlog, nothing answers), its announce and so its
# member untouched; then SIGCONT and AFTER_S watched.
run_freeze() {
  frozen=$(proc_tree "${backend_pids[VICTIM]}" | tr '\n' ' ')
  # shellcheck disable=SC2086 # one PID a word
  kill -STOP $frozen
  event frozen
  nap "$FREEZE_S"
  # shellcheck disable=SC2086
  kill -CONT $frozen
  frozen=""
  event continued
  nap "$AFTER_S"
}

# run_target SCENARIO RATE TARGET ROUND: one measured run with fresh backends, announces, proxy.
run_target() {
  local scenario=$1 rate=$2 target=$3 round=$4 ports i admin_port proxy_port t0 load_s
  local churn_start retries="" status=0 run_name socket
  local -a old_ports new_ports backend_pids announce_pids news=()
  run_name=$scenario-$rate-r$round-$target
  dir=$tmp/$run_name
  mkdir -p "$dir"
  events=$dir/events
  : >"$events"
  serverset=/bench/$scenario-$rate-r$round-$target
  read -r -a ports <<<"$(free_ports $((2 * INSTANCES + 2)))"
  old_ports=("${ports[@]:0:INSTANCES}")
  new_ports=("${ports[@]:INSTANCES:INSTANCES}")
  proxy_port=${ports[2 * INSTANCES]}
  admin_port=${ports[2 * INSTANCES + 1]}
  load_s=$(load_seconds "$scenario")

  # The service before the churn: 4 backends on the old ports, each announced.
  for ((i = 0; i < INSTANCES; i++)); do
    start_backend "$dir/old$i" "${old_ports[i]}"
    backend_pids[i]=$backend_pid
    start_announce "$dir/announce-old$i.log" "${old_ports[i]}" "$i"
    announce_pids[i]=$announce_pid
  done
  for ((i = 0; i < INSTANCES; i++)); do
    wait_announced "$dir/announce-old$i.log" "${announce_pids[i]}" 15 ||
      die "announce of ${old_ports[i]} failed: $(tail -n 3 "$dir/announce-old$i.log")"
  done

  if [[ $target == switchyard ]]; then
    if ((TUNED)); then
      write_churn_switchyard_tuned "$dir/proxy" "$proxy_port" "$admin_port" "$zk_port" \
        "$serverset" "$WORKERS"
    else
      write_churn_switchyard "$dir/proxy" "$proxy_port" "$admin_port" "$zk_port" "$serverset" \
        "$WORKERS"
    fi
    "$SWITCHYARD_BIN" check --config "$dir/proxy/switchyard.yaml" >"$dir/proxy/check.log" 2>&1 ||
      die "switchyard check refuses the configuration: $(cat "$dir/proxy/check.log")"
    start_bg proxy "$dir/proxy/stdout.log" "$SWITCHYARD_BIN" serve \
      --config "$dir/proxy/switchyard.yaml"
    wait_figure switchyard-alive "http://127.0.0.1:$admin_port" "$INSTANCES" "$proxy_pid" 15 ||
      die "switchyard does not route to the $INSTANCES instances: $(tail -n 5 "$dir/proxy/stdout.log")"
  else
    # Every slot, old and new, in maintenance: the Synapse puts the members' slots in ready.
    socket=$dir/proxy/admin.sock
    write_churn_haproxy "$dir/proxy" "$proxy_port" "$admin_port" "$socket" "${old_ports[@]}" \
      "${new_ports[@]}"
    haproxy -c -f "$dir/proxy/haproxy.cfg" >"$dir/proxy/check.log" 2>&1 ||
      die "haproxy refuses the configuration: $(cat "$dir/proxy/check.log")"
    start_bg proxy "$dir/proxy/stdout.log" haproxy -db -f "$dir/proxy/haproxy.cfg"
    local slots=() deadline=$((SECONDS + 10))
    until [[ -S $socket ]]; do
      ((SECONDS < deadline)) && alive "$proxy_pid" ||
        die "haproxy has no runtime socket: $(tail -n 5 "$dir/proxy/stdout.log")"
      sleep 0.05
    done
    for i in "${!ports[@]}"; do
      ((i < 2 * INSTANCES)) && slots+=(--slot "s$((i + 1))=127.0.0.1:${ports[i]}")
    done
    start_bg synapse "$dir/synapse.log" "$python" "$synapse" --zk "127.0.0.1:$zk_port" \
      --path "$serverset" --socket "$socket" --backend web "${slots[@]}" \
      --max-seconds $((load_s + 60))
    wait_figure haproxy-up "http://127.0.0.1:$admin_port/stats" "$INSTANCES" "$proxy_pid" 15 ||
      die "haproxy does not see exactly the $INSTANCES old slots up: $(tail -n 5 \
        "$dir/proxy/stdout.log" "$dir/synapse.log")"
  fi
  wait_http "http://127.0.0.1:$proxy_port/" "$proxy_pid" 10 || die "$target does not answer"

  # The load: h2load paces every client at rate / CLIENTS req/s for the whole run.
  t0=$(now_us)
  start_bg load "$dir/h2load.out" timeout -k 5 $((load_s + 30)) h2load --h1 -c "$CLIENTS" -t 1 \
    --rps $((rate / CLIENTS)) -D "$load_s" --log-file "$dir/h2load.log" \
    "http://127.0.0.1:$proxy_port/"
  echo "steady_start $((t0 + WARM_S * 1000000))" >>"$events"
  churn_start=$((t0 + (WARM_S + STEADY_S) * 1000000))
  sleep_until "$churn_start"
  event churn_start
  case $scenario in
    deploy) run_deploy "$churn_start" ;;
    kill) run_kill ;;
    freeze) run_freeze ;;
  esac
  event churn_end
  # A step slower than its slot delays the rest; the churn must still end under load.
  (($(now_us) < t0 + (load_s - TAIL_S + 1) * 1000000)) ||
    die "the $scenario overran its time (events: $(tr '\n' ' ' <"$events")); raise STEP_S"

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

  # Stop everything (nginx writes its buffered access log as it exits), then the figures.
  if [[ $target == haproxy ]]; then stop_pids "$synapse_pid"; fi
  stop_pids "$proxy_pid"
  for i in "${!backend_pids[@]}"; do
    if [[ -n ${backend_pids[i]} ]]; then stop_pids "${backend_pids[i]}"; fi
    if [[ -n ${announce_pids[i]} ]]; then stop_pids "${announce_pids[i]}"; fi
  done
  if [[ $scenario == deploy ]]; then
    for ((i = 0; i < INSTANCES; i++)); do news+=(--new "new$i=$dir/new$i/access.log"); done
  fi
  "$python" "$report" record --out "$results" --stdout "$dir/h2load.out" --log "$dir/h2load.log" \
    --events "$events" --scenario "$scenario" --rate "$rate" --target "$target" \
    --round "$round" ${retries:+--retries "$retries"} ${news[@]+"${news[@]}"} ||
    die "no figures for $run_name"

  # Keep what explains a failure: the scheduler's events, the failed and slow requests, the
  # proxy's view, the Synapse's log, the new instances' first served requests.
  mkdir -p "$raw/$run_name"
  awk -F'\t' '$2 < 200 || $2 >= 300' "$dir/h2load.log" >"$raw/$run_name/failed.tsv"
  awk -F'\t' '$3 > 100000' "$dir/h2load.log" >"$raw/$run_name/slow.tsv"  # over 100 ms
  cp "$events" "$dir/h2load.out" "$raw/$run_name/"
  cp "$dir"/clusters.json "$dir"/metrics.txt "$dir"/stats.csv "$dir"/synapse.log \
    "$dir"/proxy/*.cfg "$dir"/proxy/*.yaml "$raw/$run_name/" 2>/dev/null || true
  grep -hi "eject\|warn\|error" "$dir/proxy/stdout.log" | head -n 200 \
    >"$raw/$run_name/proxy-log-excerpt.txt" || true
  for ((i = 0; i < INSTANCES; i++)); do
    if [[ -f $dir/new$i/access.log ]]; then
      head -n 3 "$dir/new$i/access.log" >"$raw/$run_name/new$i-first-served.txt"
    fi
  done
  rm -rf "$dir"
}

# The runs: per round, per rate, per scenario, each target in turn (alternating which is first).
declare -i run_index=0 planned=0 skipped=0
for ((round = 1; round <= ROUNDS; round++)); do
  for rate in "${rates[@]}"; do
    for scenario in "${scenarios[@]}"; do
      planned+=$((${#targets[@]} * ($(load_seconds "$scenario") + SETUP_S)))
    done
  done
done
echo "churn_bench: ${targets[*]}; scenarios ${scenarios[*]}; ${rates[*]} req/s from $CLIENTS" \
  "clients; $ROUNDS round(s); about $planned s planned, stopping before a run that would pass" \
  "TIME_LIMIT=$TIME_LIMIT s; ZooKeeper on 127.0.0.1:$zk_port" >&2
for ((round = 1; round <= ROUNDS; round++)); do
  for rate in "${rates[@]}"; do
    for scenario in "${scenarios[@]}"; do
      order=("${targets[@]}")
      if ((run_index % 2 == 1)); then  # A B, then B A: neither always runs first
        order=()
        for ((i = ${#targets[@]} - 1; i >= 0; i--)); do order+=("${targets[i]}"); done
      fi
      run_index+=1
      for target in "${order[@]}"; do
        if ((SECONDS + $(load_seconds "$scenario") + SETUP_S > TIME_LIMIT)); then
          echo "churn_bench: skipping $scenario at $rate req/s, round $round, $target: the run" \
            "would pass TIME_LIMIT=$TIME_LIMIT s" >&2
          skipped+=1
          continue
        fi
        echo "churn_bench: [${SECONDS}s] round $round, $rate req/s, $scenario: $target" >&2
        run_target "$scenario" "$rate" "$target" "$round"
      done
    done
  done
done
[[ -s $results ]] || die "no run fitted in TIME_LIMIT=$TIME_LIMIT s"

{
  echo "Deploy safety, $(date -u +%Y-%m-%dT%H:%MZ): h2load --h1 -c $CLIENTS at ${rates[*]} req/s;" \
    "$("$SWITCHYARD_BIN" --version 2>/dev/null | head -1) (bench at" \
    "$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?');" \
    "$( ((TUNED)) && echo "TUNED config" || echo "minimal default config"), workers: $WORKERS)," \
    "$(haproxy -v | head -1 | cut -d' ' -f1-3) (SmartStack config), $(h2load --version | head -1);" \
    "steady ${STEADY_S} s; deploy ${STEP_S} s a step, announced ${ANNOUNCE_LEAD_S} s before" \
    "listening, ${DRAIN_S} s drain, ${AFTER_S} s after; kill -9 watched ${KILL_WATCH_S} s" \
    "(announce session ${SESSION_TIMEOUT_MS} ms); freeze ${FREEZE_S} s + ${AFTER_S} s;" \
    "$(grep -m1 "model name" /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')."
  ((skipped == 0)) || echo "$skipped run(s) skipped for TIME_LIMIT."
  echo
  "$python" "$report" table "$results"
} | tee "$table"
echo "churn_bench: [${SECONDS}s] table in $table, runs in $results, raw in $raw/" >&2
