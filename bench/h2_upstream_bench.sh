#!/usr/bin/env bash
# HTTP/2 towards the backends: clients -> proxy -> h2c backends, Switchyard beside HAProxy 2.6 and
# nginx 1.22, measured, never asserted.
#
#   bench/h2_upstream_bench.sh
#
# Knobs (environment):
#   TARGETS="haproxy nginx switchyard"   which proxies to measure (haproxy is the reference)
#   THREADS="1"                          threads (workers) per proxy
#   ROUNDS=3                             rounds, each in a rotated target order (A B C, B C A, ...)
#   DURATION=10                          seconds per measured run
#   RATE=20000                           total offered req/s of the fixed-load HTTP/1.1 run
#   SWITCHYARD_BIN=build/switchyard      the binary under test
#   OUT_DIR=bench/out                    where the table and raw results go
#   SYSCALLS=0                           1: count the proxy's system calls per request (strace -c;
#                                        it slows the proxy, so rates and CPU are not comparable)
#
# The backend: ONE nginx process with ONE worker answering "ok\n" on 4 ports, each speaking
# HTTP/2 with prior knowledge (`listen ... http2`), plus a plain status port (stub_status) whose
# accepted-connections counter gives the connections each proxy opens upstream. The proxies:
# Switchyard (cluster `protocol: h2c`), HAProxy (`server ... proto h2`, `http-reuse always`) and
# nginx through its grpc module (`grpc_pass grpc://`, the only way nginx 1.22 speaks HTTP/2 to an
# upstream; plain GETs pass), round robin, no logs. Scenarios per round and target:
#   h1-fixed-Nk   h2load --h1 -c 50 at RATE req/s in total (HTTP/1.1 clients, paced)
#   h1-wrk-c50    wrk -t1 -c50 (HTTP/1.1 clients, keep-alive, saturation)
#   h2-c4-m100    h2load -c 4 -m 100 (h2c clients, few connections, many streams)
#   h2-c50-m10    h2load -c 50 -m 10 (h2c clients, many connections)
# The same clients against an HTTP/1.1 backend: bench/http1_bench.sh and bench/h2_bench.sh.
# Everything binds 127.0.0.1, every run is bounded by `timeout`, and every process started here
# is stopped by PID on exit, error or Ctrl-C.
set -euo pipefail

# shellcheck source=lib/proxy_bench.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/proxy_bench.sh"

THREADS=${THREADS:-1}
DURATION=${DURATION:-10}
RATE=${RATE:-20000}
H1_CLIENTS=50
declare -A h2_port_of
read -r -a thread_counts <<<"$THREADS"
((RATE % H1_CLIENTS == 0)) || {
  echo "h2_upstream_bench: RATE must be a multiple of $H1_CLIENTS (h2load's --rps is per client)" >&2
  exit 2
}
bench_init h2_upstream_bench h2-upstream nginx haproxy h2load wrk curl timeout

# The backend: one nginx master, one worker, four h2c ports and the status port.
read -r status_port backend_ports <<<"$(free_ports 5)"
read -r -a backend_ports <<<"$backend_ports"
write_backend_nginx "$tmp/backend" "${backend_ports[@]}"
backend_speak_h2c "$tmp/backend"
backend_add_status "$tmp/backend" "$status_port"
bench_start backend "$tmp/backend" "http://127.0.0.1:$status_port/"
for port in "${backend_ports[@]}"; do
  wait_http "http://127.0.0.1:$port/" "${pid_of[backend]}" 5 --http2-prior-knowledge ||
    bench_die "the backend does not answer h2c on $port"
done

# start_targets THREADS: configures (peers.sh's writers, turned to HTTP/2 upstream) and starts
# every target with THREADS threads each.
start_targets() {
  local threads=$1 target dir admin_port
  for target in "${targets[@]}"; do
    dir=$tmp/$target-$threads
    read -r port_of[$target] admin_port <<<"$(free_ports 2)"
    h2_port_of[$target]=${port_of[$target]}  # HAProxy and Switchyard take both on one port
    case "$target" in
      haproxy)
        write_haproxy "$dir" "${port_of[$target]}" "$threads" "${backend_ports[@]}"
        haproxy_servers_h2 "$dir"
        ;;
      nginx)
        write_nginx_proxy "$dir" "${port_of[$target]}" "$threads" "${backend_ports[@]}"
        nginx_proxy_grpc "$dir"
        # nginx's h2c listener takes prior knowledge only (an HTTP/1.1 request gets no answer):
        # the h2c clients reach it on a second port, its admin port being free for it.
        h2_port_of[$target]=$admin_port
        sed -i "s|^    listen 127.0.0.1:${port_of[$target]} reuseport;\$|&\n    listen 127.0.0.1:$admin_port reuseport http2;|" \
          "$dir/nginx.conf"
        ;;
      switchyard)
        write_switchyard "$dir" "${port_of[$target]}" "$admin_port" "$threads" "${backend_ports[@]}"
        switchyard_cluster_protocol "$dir" h2c
        ;;
    esac
    bench_start "$target" "$dir" "http://127.0.0.1:${port_of[$target]}/"
    wait_http "http://127.0.0.1:${h2_port_of[$target]}/" "${pid_of[$target]}" 5 \
      --http2-prior-knowledge || bench_die "$target does not answer h2c clients"
  done
}

limit=$((DURATION + 30))  # no run may hang: a stuck tool is killed and the run recorded as failed

# run_one THREADS ROUND SCENARIO TARGET: one measured run, recorded as a JSON line with the
# connections the backend accepted during it (only this target had load: the others' pools sat
# idle) and the target's connections to the backend at its end.
run_one() {
  local threads=$1 round=$2 scenario=$3 target=$4 url out=$tmp/run.out log=$tmp/h2load.log
  local tool=h2load accepts0 accepts1 load=()
  url="http://127.0.0.1:${port_of[$target]}/"
  [[ $scenario == h2-* ]] && url="http://127.0.0.1:${h2_port_of[$target]}/"
  rm -f "$log"
  case "$scenario" in
    h1-fixed-*) load=(h2load --h1 -c "$H1_CLIENTS" -t 1 --rps $((RATE / H1_CLIENTS))) ;;
    h1-wrk-c*)
      tool=wrk
      load=(wrk -t1 -c"${scenario#h1-wrk-c}" -d"${DURATION}s" --latency -s "$lib/wrk_report.lua")
      ;;
    h2-c*)
      local c=${scenario#h2-c}
      load=(h2load -c "${c%-m*}" -m "${c#*-m}" -t 1)
      ;;
  esac
  [[ $tool == h2load ]] && load+=(-D "$DURATION" --log-file="$log")
  accepts0=$(backend_accepts "$status_port")
  bench_measure "$target" "$limit" "$out" "${load[@]}" "$url"
  accepts1=$(backend_accepts "$status_port")
  bench_record "$tool" "$out" "$threads" "$round" "$scenario" "$target" \
    ${log:+--log "$log"} --upstream-opened $((accepts1 - accepts0 - 1)) \
    --upstream-open "$(conns_to "${pid_of[$target]}" "${backend_ports[@]}")"
}

scenarios=("h1-fixed-$((RATE / 1000))k" h1-wrk-c50 h2-c4-m100 h2-c50-m10)
echo "$BENCH_NAME: targets: ${targets[*]}; threads: ${thread_counts[*]}; rounds: $ROUNDS;" \
  "${DURATION}s per run; results: $results"
for threads in "${thread_counts[@]}"; do
  start_targets "$threads"
  # Warm-up: open the upstream connections and fault the code in before the first measurement.
  for target in "${targets[@]}"; do
    run_bounded 15 /dev/null h2load -c 50 -m 10 -t 1 -D 2 "http://127.0.0.1:${h2_port_of[$target]}/" ||
      true
  done
  bench_rounds "threads $threads" "$threads" run_one "${scenarios[@]}"
  bench_stop_targets
done

{
  echo "### HTTP/2 to the backends (h2c upstream), $stamp"
  echo
  bench_machine
  echo "Peers: $(haproxy -v | head -1 | cut -d' ' -f1-3) (\`server ... proto h2\`), $(nginx -v 2>&1 | cut -d' ' -f3) (\`grpc_pass grpc://\`), $(h2load --version | head -1), $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2); one nginx backend speaking h2c on 4 ports."
  echo "Command: \`SYSCALLS=${SYSCALLS:-0} TARGETS=\"$TARGETS\" THREADS=\"$THREADS\" ROUNDS=$ROUNDS DURATION=$DURATION RATE=$RATE bench/h2_upstream_bench.sh\`"
  echo "Scenarios: ${scenarios[0]} = \`h2load --h1 -c $H1_CLIENTS -t 1 --rps $((RATE / H1_CLIENTS)) -D $DURATION\` ($RATE req/s offered in total); h1-wrk-c50 = \`wrk -t1 -c50 -d${DURATION}s\`; h2-cC-mM = \`h2load -c C -m M -t 1 -D $DURATION\` (h2c, prior knowledge)."
  echo
  "$BENCH_PYTHON" "$lib/http1_report.py" table "$results"
  echo
  echo "upstream conns opened: connections the backend accepted during the run (only the measured proxy had load); open at end: that proxy's connections to the backend when the run ended (\`ss\`), its pool. Medians over rounds."
} >"$table"
echo
cat "$table"
echo
echo "$BENCH_NAME: table in $table, raw results in $results"
