#!/usr/bin/env bash
# Binary upgrades under load (issue 13, part 5), all on loopback:
#   SWITCHYARD_BIN=build-release/switchyard bench/upgrade_bench.sh
# For each target in turn, in front of the same nginx backend: three paced clients
# (lib/upgrade_load.py) run throughout: new connections at a steady rate (one request each),
# long-lived HTTP/1.1 keep-alive connections, and h2c connections. After a steady window the
# script upgrades the running process UPGRADES times in a row, GAP_S apart, each time waiting
# (at most UPGRADE_WAIT_S) for the old process to exit:
#   switchyard  a second `switchyard serve --config F --takeover-socket S` (listening sockets
#               passed over S), the old one drains and exits by itself;
#   haproxy     HAProxy's seamless reload: `haproxy -f F -x STATS_SOCKET -sf OLDPID` with
#               `stats socket ... expose-fd listeners`;
#   haproxy-mw  HAProxy in master-worker mode (`-W -S`, as Debian's systemd unit runs it):
#               `kill -USR2 MASTER` (the master re-executes its binary, the new worker gets the
#               listeners from the old one, which drains);
#   nginx       nginx's binary upgrade: `kill -USR2 MASTER` (a new master inherits the sockets),
#               `kill -WINCH OLD` once the new master has its workers, then `kill -QUIT OLD`.
# Prints per target: requests, failed requests by cause, connections refused and reset, p99
# before and during the upgrades, the time of the whole sequence. See bench/README.md.
#
# Knobs (environment): TARGETS="haproxy haproxy-mw nginx switchyard" UPGRADES=10 GAP_S=1.5
# RATE=200 (new connections/s) KA_CONNS=20 KA_RATE=10 H2_CONNS=4 H2_RATE=50 DURATION=10
# (steady seconds before the upgrades) AFTER_S=3 UPGRADE_WAIT_S=20 TIMEOUT_S=5 THREADS=1
# HAPROXY_IDLE_CLOSE_ON_RESPONSE=0 (1: HAProxy's `option idle-close-on-response`)
# SWITCHYARD_BIN=build/switchyard OUT_DIR=bench/out
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=lib/common.sh
source "$root/bench/lib/common.sh"
# shellcheck source=lib/peers.sh
source "$root/bench/lib/peers.sh"

read -r -a targets <<<"${TARGETS:-haproxy haproxy-mw nginx switchyard}"
UPGRADES=${UPGRADES:-10}
GAP_S=${GAP_S:-1.5}
RATE=${RATE:-200}
KA_CONNS=${KA_CONNS:-20}
KA_RATE=${KA_RATE:-10}
H2_CONNS=${H2_CONNS:-4}
H2_RATE=${H2_RATE:-50}
DURATION=${DURATION:-10}
AFTER_S=${AFTER_S:-3}
UPGRADE_WAIT_S=${UPGRADE_WAIT_S:-20}
TIMEOUT_S=${TIMEOUT_S:-5}
THREADS=${THREADS:-1}
HAPROXY_IDLE_CLOSE_ON_RESPONSE=${HAPROXY_IDLE_CLOSE_ON_RESPONSE:-0}
SWITCHYARD_BIN=${SWITCHYARD_BIN:-$root/build/switchyard}
OUT_DIR=${OUT_DIR:-$root/bench/out}
WARM_S=2            # load before the steady window (connections opened, pools warm)
TIME_LIMIT_S=570    # the whole run stays under 10 minutes: no target starts past this
python=/usr/bin/python3
load=$root/bench/lib/upgrade_load.py
report=$root/bench/lib/upgrade_report.py
# Set by start_bg; the load clients' are read through ${!name}.
# shellcheck disable=SC2034
backend_pid="" proxy_pid="" new_pid="" snap_pid="" load_new_pid="" load_keepalive_pid="" load_h2c_pid=""

die() {
  echo "upgrade_bench: $*" >&2
  exit 1
}

for tool in nginx haproxy curl timeout pgrep; do
  command -v "$tool" >/dev/null || die "$tool missing (scripts/install-deps.sh installs it)"
done
"$python" -c 'import hpack' 2>/dev/null ||
  die "$python cannot import hpack (package python3-hpack: scripts/install-deps.sh)"
# nginx's binary upgrade re-executes argv[0] without a PATH search: start it by its full path.
nginx_bin=$(command -v nginx)
for target in "${targets[@]}"; do
  case $target in
    haproxy | haproxy-mw | nginx) ;;
    switchyard)
      [[ -x $SWITCHYARD_BIN ]] ||
        die "no $SWITCHYARD_BIN (build the switchyard target in Release, or SWITCHYARD_BIN=PATH)"
      [[ $("$SWITCHYARD_BIN" serve --help 2>&1 || true) == *--takeover-socket* ]] ||
        die "$SWITCHYARD_BIN has no 'serve --takeover-socket' (binary upgrades): too old"
      ;;
    *) die "unknown target '$target' (switchyard, haproxy, haproxy-mw, nginx)" ;;
  esac
done
for n in UPGRADES RATE KA_CONNS KA_RATE H2_CONNS H2_RATE DURATION AFTER_S UPGRADE_WAIT_S \
  TIMEOUT_S THREADS; do
  [[ ${!n} =~ ^[0-9]+$ ]] && ((${!n} > 0)) || die "$n must be a positive integer (got '${!n}')"
done
[[ $HAPROXY_IDLE_CLOSE_ON_RESPONSE =~ ^[01]$ ]] || die "HAPROXY_IDLE_CLOSE_ON_RESPONSE must be 0 or 1"
[[ $GAP_S =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "GAP_S must be a number of seconds (got '$GAP_S')"

tmp=$(mktemp -d /tmp/switchyard-upgrade-bench.XXXXXX)
chmod 755 "$tmp"  # nginx workers drop root and must reach their temp paths below it
nginx_dirs=()     # daemonized nginx proxies: stopped by the PIDs in their pid files
stop_nginx_daemons() {
  local dir f pid pids=()
  for dir in ${nginx_dirs[@]+"${nginx_dirs[@]}"}; do
    for f in "$dir/nginx.pid" "$dir/nginx.pid.oldbin"; do
      pid=$(cat "$f" 2>/dev/null) || continue
      [[ $pid =~ ^[0-9]+$ ]] && alive "$pid" && pids+=("$pid")
    done
  done
  # Not children of this shell: stop_pids's wait fails quietly, its kill and polling still work.
  ((${#pids[@]} == 0)) || stop_pids "${pids[@]}" 2>/dev/null
  nginx_dirs=()
}
on_exit() {
  stop_nginx_daemons
  stop_all
  rm -rf "$tmp"
}
trap on_exit EXIT
trap 'echo "upgrade_bench: interrupted" >&2; exit 130' INT
trap 'exit 143' TERM

mkdir -p "$OUT_DIR"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
results=$OUT_DIR/upgrade-$stamp.jsonl
table=$OUT_DIR/upgrade-$stamp.md
raw=$OUT_DIR/upgrade-$stamp
mkdir -p "$raw"
: >"$results"

now_us() { date +%s%6N; }
event() { echo "$1 $(now_us)" >>"$events"; }

# snapshot_old FILE PID...: what the old processes still hold (their TCP sockets, with timers),
# for a slow upgrade's post-mortem. Sockets are matched by inode: `ss -p` walks every process's
# descriptors and takes seconds on a busy machine.
snapshot_old() {
  local file=$1 pid p inodes
  shift
  {
    for pid in "$@"; do
      for p in $(proc_tree "$pid"); do
        echo "# $p $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)"
        inodes=$(find "/proc/$p/fd" -maxdepth 1 -lname 'socket:*' -printf '%l\n' 2>/dev/null |
          tr -dc '0-9\n' | paste -sd'|')
        [[ -z $inodes ]] || ss -Htanoe | grep -E " ino:($inodes) " || true
      done
    done
  } >"$file" 2>&1
}

# wait_old DIR I NEWPID PID...: until every old PID has exited (1 when UPGRADE_WAIT_S from the
# upgrade's start has passed: the caller's `deadline`); dies if NEWPID (when not empty) exits
# meanwhile. After 3 s, what the old processes still hold goes to DIR/upgrade-I-slow.txt (taken
# in the background, so that the exit is still seen when it happens).
wait_old() {
  local dir=$1 i=$2 newpid=$3 pid snap=$((SECONDS + 3)) snap_pid="" status=0
  shift 3
  for pid in "$@"; do
    while alive "$pid"; do
      [[ -z $newpid ]] || alive "$newpid" ||
        die "upgrade $i: the new process exited: $(tail -n 5 "$dir/proxy-$i.log" 2>/dev/null)"
      ((SECONDS < deadline)) || { status=1 && break 2; }
      if [[ -z $snap_pid ]] && ((SECONDS >= snap)); then
        start_bg snap /dev/null snapshot_old "$dir/upgrade-$i-slow.txt" "$@"
      fi
      sleep 0.02
    done
  done
  if [[ -n $snap_pid ]]; then
    wait "$snap_pid" 2>/dev/null || true
    forget_pid "$snap_pid"
  fi
  return "$status"
}

# reap PID: collects a child that has exited; its exit status in reaped_status.
reap() {
  reaped_status=0
  wait "$1" 2>/dev/null || reaped_status=$?
  forget_pid "$1"
}

# --- backend: one nginx, one worker, four ports, "ok\n" (the other benchmarks' backend) -------
read -r -a backend_ports <<<"$(free_ports 4)"
write_backend_nginx "$tmp/backend" "${backend_ports[@]}"
start_bg backend "$tmp/backend/stdout.log" nginx -p "$tmp/backend" -c "$tmp/backend/nginx.conf" \
  -e "$tmp/backend/error.log"
for port in "${backend_ports[@]}"; do
  wait_http "http://127.0.0.1:$port/" "$backend_pid" 10 ||
    die "backend on $port does not answer: $(tail -n 3 "$tmp/backend/error.log")"
done

# --- per target: start, upgrade once --------------------------------------------------------
# start_TARGET DIR PORT H2PORT ADMIN_PORT: the proxy serving HTTP/1.1 on PORT and h2c (prior
# knowledge) on H2PORT (the same port where one listener takes both); sets proxy_pid.
# upgrade_TARGET DIR I: one upgrade; returns once the old process has exited, 1 if it did not
# within UPGRADE_WAIT_S; dies if the new process failed.

start_switchyard() {
  local dir=$1 port=$2 admin_port=$4
  write_switchyard "$dir" "$port" "$admin_port" "$THREADS" "${backend_ports[@]}"
  "$SWITCHYARD_BIN" check --config "$dir/switchyard.yaml" >"$dir/check.log" 2>&1 ||
    die "switchyard check refuses the configuration: $(cat "$dir/check.log")"
  start_bg proxy "$dir/proxy-0.log" "$SWITCHYARD_BIN" serve --config "$dir/switchyard.yaml" \
    --takeover-socket "$dir/takeover.sock"
}
upgrade_switchyard() {
  local dir=$1 i=$2 old=$proxy_pid
  start_bg new "$dir/proxy-$i.log" "$SWITCHYARD_BIN" serve --config "$dir/switchyard.yaml" \
    --takeover-socket "$dir/takeover.sock"
  proxy_pid=$new_pid
  local deadline=$((SECONDS + UPGRADE_WAIT_S))
  wait_old "$dir" "$i" "$new_pid" "$old" || return 1
  reap "$old"
  ((reaped_status == 0)) || echo "upgrade_bench: upgrade $i: the old switchyard exited" \
    "with $reaped_status (log: $(tail -n 2 "$dir/proxy-$((i - 1)).log"))" >&2
}

# write_upgrade_haproxy DIR PORT: the other benchmarks' HAProxy with a stats socket that hands
# the listeners to the next process (expose-fd listeners).
write_upgrade_haproxy() {
  local dir=$1 port=$2
  write_haproxy "$dir" "$port" "$THREADS" "${backend_ports[@]}"
  sed -i "s|^  pidfile .*|&\n  stats socket $dir/haproxy.sock mode 600 level admin expose-fd listeners|" \
    "$dir/haproxy.cfg"
  grep -q 'expose-fd listeners' "$dir/haproxy.cfg" || die "no stats socket in $dir/haproxy.cfg"
  if ((HAPROXY_IDLE_CLOSE_ON_RESPONSE)); then
    # Not the default: at soft-stop, an idle keep-alive connection is kept until its next
    # request, answered with Connection: close, instead of being closed at once.
    sed -i 's|^  option http-keep-alive$|&\n  option idle-close-on-response|' "$dir/haproxy.cfg"
    grep -q 'idle-close-on-response' "$dir/haproxy.cfg" || die "no idle-close-on-response in $dir"
  fi
  haproxy -c -f "$dir/haproxy.cfg" >"$dir/check.log" 2>&1 ||
    die "haproxy refuses the configuration: $(cat "$dir/check.log")"
}
start_haproxy() {
  write_upgrade_haproxy "$1" "$2"
  start_bg proxy "$1/proxy-0.log" haproxy -db -f "$1/haproxy.cfg"
}
upgrade_haproxy() {
  local dir=$1 i=$2 old=$proxy_pid
  start_bg new "$dir/proxy-$i.log" haproxy -db -f "$dir/haproxy.cfg" -x "$dir/haproxy.sock" \
    -sf "$old"
  proxy_pid=$new_pid
  local deadline=$((SECONDS + UPGRADE_WAIT_S))
  wait_old "$dir" "$i" "$new_pid" "$old" || return 1
  reap "$old"
}

start_haproxy-mw() {
  write_upgrade_haproxy "$1" "$2"
  start_bg proxy "$1/proxy-0.log" haproxy -W -db -f "$1/haproxy.cfg" -S "$1/master.sock"
  local deadline=$((SECONDS + 10))
  until pgrep -P "$proxy_pid" >/dev/null; do
    ((SECONDS < deadline)) || die "haproxy master-worker started no worker: $(tail -n 5 "$1/proxy-0.log")"
    sleep 0.05
  done
}
upgrade_haproxy-mw() {
  local dir=$1 i=$2 olds new="" deadline
  olds=$(pgrep -P "$proxy_pid" | paste -sd' ')
  kill -USR2 "$proxy_pid"
  deadline=$((SECONDS + UPGRADE_WAIT_S))
  while [[ -z $new ]]; do
    alive "$proxy_pid" || die "upgrade $i: the haproxy master exited: $(tail -n 5 "$dir/proxy-0.log")"
    ((SECONDS < deadline)) || die "upgrade $i: no new haproxy worker in ${UPGRADE_WAIT_S} s"
    new=$(pgrep -P "$proxy_pid" | grep -vxF -f <(tr ' ' '\n' <<<"$olds") | head -1 || true)
    [[ -n $new ]] || sleep 0.02
  done
  # shellcheck disable=SC2086 # one PID a word
  wait_old "$dir" "$i" "$proxy_pid" $olds
}

start_nginx() {
  local dir=$1 port=$2 h2port=$3 deadline
  write_nginx_proxy "$dir" "$port" "$THREADS" "${backend_ports[@]}"
  # A daemon with a master (what a binary upgrade needs), no reuseport (sockets are inherited
  # as they are), and a second listener for h2c: nginx's `http2` listener without ssl takes
  # prior knowledge only, so HTTP/1.1 stays on PORT.
  sed -i -e 's|^daemon off;$|daemon on;\nmaster_process on;|' \
    -e "s|^    listen 127.0.0.1:$port reuseport;\$|    listen 127.0.0.1:$port;\n    listen 127.0.0.1:$h2port http2;|" \
    "$dir/nginx.conf"
  grep -q "listen 127.0.0.1:$h2port http2;" "$dir/nginx.conf" && grep -q '^daemon on;' \
    "$dir/nginx.conf" || die "nginx proxy config in $dir not rewritten"
  nginx_dirs+=("$dir")
  "$nginx_bin" -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" >"$dir/start.log" 2>&1 ||
    die "nginx did not start: $(cat "$dir/start.log") $(tail -n 3 "$dir/error.log")"
  deadline=$((SECONDS + 10))
  until [[ -s $dir/nginx.pid ]]; do
    ((SECONDS < deadline)) || die "nginx wrote no pid file: $(tail -n 3 "$dir/error.log")"
    sleep 0.05
  done
  proxy_pid=$(cat "$dir/nginx.pid")
}
upgrade_nginx() {
  local dir=$1 i=$2 old=$proxy_pid new="" deadline
  kill -USR2 "$old"
  deadline=$((SECONDS + UPGRADE_WAIT_S))
  # The old master renames its pid file to nginx.pid.oldbin; the new one writes nginx.pid and
  # starts its workers.
  while :; do
    new=$(cat "$dir/nginx.pid" 2>/dev/null || true)
    if [[ $new =~ ^[0-9]+$ && $new != "$old" ]] && pgrep -P "$new" >/dev/null; then break; fi
    ((SECONDS < deadline)) || die "upgrade $i: no new nginx master with workers in" \
      "${UPGRADE_WAIT_S} s: $(tail -n 3 "$dir/error.log")"
    sleep 0.02
  done
  kill -WINCH "$old"  # the old workers stop accepting and finish what they serve
  kill -QUIT "$old"   # the old master then exits with them
  proxy_pid=$new
  wait_old "$dir" "$i" "$new" "$old"
}

# --- one target -----------------------------------------------------------------------------
run_target() {
  local target=$1 dir port h2port admin_port kind i pid status max_s
  local -a ports kinds=(new keepalive h2c)
  dir=$tmp/$target
  mkdir -p "$dir" "$dir/load"
  events=$dir/events
  : >"$events"
  read -r -a ports <<<"$(free_ports 3)"
  port=${ports[0]} h2port=${ports[0]} admin_port=${ports[2]}
  [[ $target == nginx ]] && h2port=${ports[1]}

  "start_$target" "$dir" "$port" "$h2port" "$admin_port"
  wait_http "http://127.0.0.1:$port/" "$proxy_pid" 10 ||
    die "$target does not answer HTTP/1.1 on $port: $(tail -n 5 "$dir"/proxy-0.log "$dir"/error.log 2>/dev/null)"
  wait_http "http://127.0.0.1:$h2port/" "$proxy_pid" 10 --http2-prior-knowledge ||
    die "$target does not answer h2c (prior knowledge) on $h2port"

  # The clients: each stops when the stop file appears, bounded by max_s anyway.
  max_s=$((WARM_S + DURATION + UPGRADES * (UPGRADE_WAIT_S + ${GAP_S%.*} + 2) + AFTER_S + 10))
  rm -f "$dir/stop"
  for kind in "${kinds[@]}"; do
    local kport=$port rate=$RATE conns=1
    [[ $kind == keepalive ]] && rate=$KA_RATE conns=$KA_CONNS
    [[ $kind == h2c ]] && kport=$h2port rate=$H2_RATE conns=$H2_CONNS
    start_bg "load_$kind" "$dir/load/$kind.err" timeout -k 5 $((max_s + TIMEOUT_S + 5)) \
      "$python" "$load" --mode "$kind" --port "$kport" --rate "$rate" --conns "$conns" \
      --timeout "$TIMEOUT_S" --stop-file "$dir/stop" --max-seconds "$max_s" \
      --log "$dir/load/$kind.tsv" --summary "$dir/load/$kind.json"
  done
  sleep "$WARM_S"
  event steady_start
  sleep "$DURATION"

  for ((i = 1; i <= UPGRADES; i++)); do
    local t_start
    t_start=$(now_us)
    echo "upgrade_${i}_start $t_start" >>"$events"
    if "upgrade_$target" "$dir" "$i"; then
      event "upgrade_${i}_end"
      echo "upgrade_bench: $target upgrade $i: $((($(now_us) - t_start) / 1000)) ms" >&2
    else
      event "upgrade_${i}_end"
      event "upgrade_${i}_failed"
      echo "upgrade_bench: $target upgrade $i: the old process still runs after" \
        "${UPGRADE_WAIT_S} s; going on" >&2
    fi
    ((i == UPGRADES)) || sleep "$GAP_S"
  done
  event seq_end
  sleep "$AFTER_S"
  touch "$dir/stop"
  for kind in "${kinds[@]}"; do
    pid=load_${kind}_pid
    status=0
    wait "${!pid}" || status=$?
    forget_pid "${!pid}"
    ((status == 0)) || die "$target: the $kind client exited with $status: $(tail -n 5 "$dir/load/$kind.err")"
  done
  "$python" "$report" record --out "$results" --dir "$dir/load" --events "$events" \
    --target "$target" || die "no figures for $target"

  # Keep what explains a failure: events, failed and slow requests, the proxies' logs.
  mkdir -p "$raw/$target"
  for kind in "${kinds[@]}"; do
    awk -F'\t' '$3 != "ok"' "$dir/load/$kind.tsv" >"$raw/$target/$kind-failed.tsv"
    awk -F'\t' '$2 > 50000' "$dir/load/$kind.tsv" >"$raw/$target/$kind-slow.tsv"  # over 50 ms
  done
  cp "$events" "$dir"/load/*.json "$raw/$target/"
  cp "$dir"/*.log "$dir"/*.txt "$dir"/*.cfg "$dir"/*.yaml "$dir"/*.conf "$raw/$target/" 2>/dev/null || true

  if [[ $target == nginx ]]; then
    stop_nginx_daemons
  else
    stop_pids "$proxy_pid"
  fi
}

per_target_s=$((WARM_S + DURATION + UPGRADES * (${GAP_S%.*} + 3) + AFTER_S + 5))
echo "upgrade_bench: ${targets[*]}; $UPGRADES upgrades ${GAP_S} s apart after ${DURATION} s" \
  "of steady load: $RATE new connections/s, $KA_CONNS keep-alive connections x $KA_RATE req/s," \
  "$H2_CONNS h2c connections x $H2_RATE req/s" >&2
for target in "${targets[@]}"; do
  if ((SECONDS + per_target_s > TIME_LIMIT_S)); then
    echo "upgrade_bench: skipping $target: the run would pass $TIME_LIMIT_S s" >&2
    continue
  fi
  echo "upgrade_bench: $target" >&2
  run_target "$target"
done

haproxy_note=""
((HAPROXY_IDLE_CLOSE_ON_RESPONSE)) && haproxy_note="; HAProxy with option idle-close-on-response"
sy_rev=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')
{
  echo "Binary upgrades under load, $(date -u +%Y-%m-%dT%H:%MZ), $(grep -m1 'model name' \
    /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'): $UPGRADES upgrades ${GAP_S} s apart after" \
    "${DURATION} s steady; clients throughout: $RATE new connections/s (one request each)," \
    "$KA_CONNS HTTP/1.1 keep-alive connections x $KA_RATE req/s, $H2_CONNS h2c connections x" \
    "$H2_RATE req/s; per-request timeout ${TIMEOUT_S} s; $THREADS thread(s) per proxy$haproxy_note."
  if [[ " ${targets[*]} " == *" switchyard "* ]]; then
    echo "Switchyard: \`${SWITCHYARD_BIN#"$root"/}\`, checkout at $sy_rev;" \
      "$(haproxy -v | head -1 | cut -d' ' -f1-3), $("$nginx_bin" -v 2>&1 | cut -d' ' -f3)."
  else
    echo "Switchyard not run (checkout at $sy_rev); $(haproxy -v | head -1 | cut -d' ' -f1-3)," \
      "$("$nginx_bin" -v 2>&1 | cut -d' ' -f3)."
  fi
  echo
  "$python" "$report" table "$results"
} | tee "$table"
echo "upgrade_bench: table in $table, runs in $results, raw in $raw/" >&2
