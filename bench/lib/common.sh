# Shared helpers for the whole-process benchmarks (sourced, not run).
# Every process started through start_bg is recorded and stopped by PID in stop_all.

BENCH_PIDS=()

# start_bg NAME LOGFILE CMD...: runs CMD in the background, records its PID in BENCH_PIDS and
# in the variable named NAME_pid.
start_bg() {
  local name=$1 log=$2
  shift 2
  "$@" >"$log" 2>&1 &
  BENCH_PIDS+=($!)
  printf -v "${name}_pid" '%s' "$!"
}

# run_bounded LIMIT OUTFILE CMD...: runs CMD for at most LIMIT seconds (then TERM, KILL 5 s later),
# output to OUTFILE. It runs in the background and the shell waits for it with `wait`, because
# bash runs an INT trap at once only while in `wait`: with a foreground child that catches
# SIGINT itself (timeout does), a Ctrl-C would otherwise be swallowed and the script go on.
run_bounded() {
  local limit=$1 out=$2 pid status=0
  shift 2
  timeout -k 5 "$limit" "$@" >"$out" 2>&1 &
  pid=$!
  BENCH_PIDS+=("$pid")
  wait "$pid" || status=$?
  forget_pid "$pid"  # at once: once reaped, its number may be reused by another process
  return "$status"
}

# forget_pid PID: removes PID from BENCH_PIDS (after the caller has stopped and reaped it).
forget_pid() {
  local kept=() p
  for p in ${BENCH_PIDS[@]+"${BENCH_PIDS[@]}"}; do [[ $p == "$1" ]] || kept+=("$p"); done
  BENCH_PIDS=(${kept[@]+"${kept[@]}"})
}

# alive PID: the process exists and is not a zombie waiting to be reaped.
alive() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ ${stat:0:1} != Z ]]
}

# stop_pids PID...: SIGTERM, up to 10 s for a graceful exit (a proxy may drain), then SIGKILL;
# reaps each and forgets it.
stop_pids() {
  local pid deadline
  for pid in "$@"; do kill -TERM "$pid" 2>/dev/null || true; done
  deadline=$((SECONDS + 10))
  for pid in "$@"; do
    while alive "$pid" && ((SECONDS < deadline)); do sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    forget_pid "$pid"
  done
}

# Stops every recorded process.
stop_all() {
  stop_pids ${BENCH_PIDS[@]+"${BENCH_PIDS[@]}"}
}

# free_ports N: N distinct free TCP ports on 127.0.0.1, space-separated. They are held open
# together while chosen, so they are distinct; another program could still take one before we
# bind it, which the start-up checks then report.
free_ports() {
  /usr/bin/python3 - "$1" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
for s in socks:
    s.close()
PY
}

# wait_http URL PID [SECONDS [CURL_ARG...]]: waits until URL answers 200 (curl with CURL_ARGs,
# e.g. --http2-prior-knowledge), failing early if PID has died.
wait_http() {
  local url=$1 pid=$2 limit=${3:-10} deadline
  shift $(($# < 3 ? $# : 3))
  deadline=$((SECONDS + limit))
  while ((SECONDS < deadline)); do
    kill -0 "$pid" 2>/dev/null || return 1
    if [[ $(curl -s "$@" -o /dev/null -w '%{http_code}' --max-time 1 "$url") == 200 ]]; then
      return 0
    fi
    sleep 0.1
  done
  return 1
}

# proc_tree PID: PID and all its descendants (nginx workers are children of the master).
proc_tree() {
  local child
  echo "$1"
  for child in $(pgrep -P "$1" 2>/dev/null); do proc_tree "$child"; done
}

# cpu_ticks PID: utime + stime, in clock ticks, of PID and every descendant. /proc/PID/stat of a
# process counts all its threads (HAProxy's and Switchyard's workers), live or exited.
cpu_ticks() {
  local total=0 pid line fields
  for pid in $(proc_tree "$1"); do
    line=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
    # Fields after "(comm) ": state is field 3, utime field 14, stime field 15.
    read -r -a fields <<<"${line##*) }"
    total=$((total + fields[11] + fields[12]))
  done
  echo "$total"
}

# conns_to PID PORT...: TCP connections established from PID or a descendant (nginx workers) to
# 127.0.0.1:PORT for any PORT (ss, which names each socket's owners).
conns_to() {
  local pid=$1 port filter="" pids
  shift
  for port in "$@"; do filter+="${filter:+ or }dport = :$port"; done
  pids=$(proc_tree "$pid" | paste -sd'|')
  ss -Htnp state established "( $filter )" | grep -cE "pid=($pids)," || true
}
