# shellcheck shell=bash
# The frame of a benchmark that runs the proxies (haproxy, nginx, switchyard) one after another in
# rotated rounds in front of one nginx backend: set-up (knobs, checks, the temp dir and its
# traps, the output files), starting a server and waiting for it, the round order, and one
# measured run recorded by http1_report.py. Used by h2_upstream_bench.sh and
# tls_handshake_bench.sh; sources the other helpers itself.

lib=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$lib/../.." && pwd)
# shellcheck source=common.sh
source "$lib/common.sh"
# shellcheck source=peers.sh
source "$lib/peers.sh"
# shellcheck source=tls.sh
source "$lib/tls.sh"

BENCH_NAME=bench
BENCH_PYTHON=/usr/bin/python3
BENCH_CLK_TCK=$(getconf CLK_TCK)
declare -A port_of pid_of

bench_die() {
  echo "$BENCH_NAME: $*" >&2
  exit 1
}

# bench_require TOOL...: each TOOL is on PATH.
bench_require() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || bench_die "'$tool' not found; run scripts/install-deps.sh"
  done
}

# bench_check_targets TARGET...: each is haproxy, nginx or switchyard; switchyard needs the binary
# at SWITCHYARD_BIN.
bench_check_targets() {
  local target
  for target in "$@"; do
    case "$target" in
      haproxy | nginx) ;;
      switchyard)
        [[ -x "$SWITCHYARD_BIN" ]] || bench_die "no switchyard binary at $SWITCHYARD_BIN (build" \
          "it with scripts/build.sh Release, set SWITCHYARD_BIN, or leave it out of TARGETS)"
        ;;
      *) echo "$BENCH_NAME: unknown target '$target' (haproxy, nginx, switchyard)" >&2; exit 2 ;;
    esac
  done
}

# bench_init NAME KIND TOOL...: the common knobs (TARGETS, ROUNDS, SWITCHYARD_BIN, OUT_DIR:
# defaults for those unset) and the array `targets`, checked; each TOOL on PATH; the load
# average before (load_before); the temp dir (bench_make_tmp); the output files
# $OUT_DIR/KIND-<UTC stamp>.{jsonl,md} in `results` and `table`.
bench_init() {
  BENCH_NAME=$1
  local kind=$2
  shift 2
  TARGETS=${TARGETS:-haproxy nginx switchyard}
  ROUNDS=${ROUNDS:-3}
  SWITCHYARD_BIN=${SWITCHYARD_BIN:-$root/build/switchyard}
  OUT_DIR=${OUT_DIR:-$root/bench/out}
  read -r -a targets <<<"$TARGETS"
  bench_require "$@"
  bench_check_targets "${targets[@]}"
  load_before=$(cut -d' ' -f1-3 /proc/loadavg)
  bench_make_tmp
  mkdir -p "$OUT_DIR"
  stamp=$(date -u +%Y%m%dT%H%M%SZ)
  results=$OUT_DIR/$kind-$stamp.jsonl
  table=$OUT_DIR/$kind-$stamp.md
  : >"$results"
}

# bench_make_tmp: a temp dir in $tmp, removed on exit after every process started is stopped
# (on a normal exit, an error or Ctrl-C).
bench_make_tmp() {
  tmp=$(mktemp -d "/tmp/switchyard-$BENCH_NAME.XXXXXX")
  chmod 755 "$tmp"  # nginx workers drop root and must reach their temp paths below it
  trap 'stop_all; rm -rf "$tmp"' EXIT
  trap 'echo "$BENCH_NAME: interrupted" >&2; exit 130' INT
  trap 'exit 143' TERM
}

# bench_start NAME DIR URL [CURL_ARG...]: starts the server configured in DIR (haproxy.cfg,
# nginx.conf or switchyard.yaml: NAME says which; `backend` is an nginx), records its PID in
# pid_of[NAME] and waits up to 15 s until URL answers 200, or exits with its logs.
bench_start() {
  local name=$1 dir=$2 url=$3
  shift 3
  case "$name" in
    haproxy) start_bg server "$dir/stdout.log" haproxy -db -f "$dir/haproxy.cfg" ;;
    nginx | backend)
      start_bg server "$dir/stdout.log" nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" ;;
    switchyard)
      start_bg server "$dir/stdout.log" "$SWITCHYARD_BIN" serve --config "$dir/switchyard.yaml" ;;
  esac
  # shellcheck disable=SC2154  # server_pid is set by start_bg
  pid_of[$name]=$server_pid
  wait_http "$url" "$server_pid" 15 "$@" || {
    echo "$BENCH_NAME: $name does not answer $url:" >&2
    tail -n 20 "$dir"/*.log >&2 || true
    exit 1
  }
}

# bench_order ROUND TARGET...: the targets rotated by ROUND - 1 (A B C, B C A, C A B, ...), so
# that none always runs first or last.
bench_order() {
  local round=$1 i
  shift
  for ((i = 0; i < $#; i++)); do
    local k=$(((i + round - 1) % $# + 1))
    printf '%s ' "${!k}"
  done
}

# bench_stop_targets: stops every target of the caller's `targets` array.
bench_stop_targets() {
  local target pids=()
  for target in "${targets[@]}"; do pids+=("${pid_of[$target]}"); done
  stop_pids "${pids[@]}"
}

# bench_rounds TITLE KEY RUN_ONE SCENARIO...: ROUNDS rounds; in each, every SCENARIO on every
# target of `targets`, in the round's order. RUN_ONE KEY ROUND SCENARIO TARGET makes one run.
bench_rounds() {
  local title=$1 key=$2 run_one=$3 round scenario target order
  shift 3
  for ((round = 1; round <= ROUNDS; round++)); do
    read -r -a order <<<"$(bench_order "$round" "${targets[@]}")"
    echo "== $title, round $round/$ROUNDS: ${order[*]}"
    for scenario in "$@"; do
      for target in "${order[@]}"; do "$run_one" "$key" "$round" "$scenario" "$target"; done
    done
  done
}

# bench_measure TARGET LIMIT OUT CMD...: runs CMD (bounded by LIMIT s, output to OUT) against
# TARGET and sets run_cpu_ticks (TARGET's processes), run_backend_ticks and run_wall_s. Exits with
# the logs if the target or the backend died meanwhile.
bench_measure() {
  local target=$1 limit=$2 out=$3 cpu0 be0 t0 pid
  shift 3
  run_syscalls=""
  [[ ${SYSCALLS:-0} == 1 ]] && bench_strace_start "$target"
  cpu0=$(cpu_ticks "${pid_of[$target]}")
  be0=$(cpu_ticks "${pid_of[backend]}")
  t0=$(date +%s.%N)
  run_bounded "$limit" "$out" "$@" || true  # a failed run is recorded (and shown) as failed
  run_wall_s=$(awk "BEGIN { print $(date +%s.%N) - $t0 }")
  for pid in "${pid_of[backend]}" "${pid_of[$target]}"; do
    alive "$pid" || {
      echo "$BENCH_NAME: a server died during a $target run; logs in $tmp:" >&2
      tail -n 20 "$tmp"/*/*.log >&2 || true
      exit 1
    }
  done
  run_cpu_ticks=$(($(cpu_ticks "${pid_of[$target]}") - cpu0))
  run_backend_ticks=$(($(cpu_ticks "${pid_of[backend]}") - be0))
  [[ ${SYSCALLS:-0} == 1 ]] && bench_strace_stop
  return 0
}

# bench_strace_start TARGET: `strace -c -f` attached to every process of TARGET (nginx: master
# and workers), counting their system calls until bench_strace_stop. ptrace slows the target
# down: a run with SYSCALLS=1 gives counts, not rates or CPU comparable with a run without.
bench_strace_start() {
  local p args=() attached=0 deadline
  for p in $(proc_tree "${pid_of[$1]}"); do args+=(-p "$p"); done
  rm -f "$tmp/strace.out"
  start_bg strace "$tmp/strace.log" strace -c -f -o "$tmp/strace.out" "${args[@]}"
  deadline=$((SECONDS + 5))  # strace says "Process N attached" once per process
  while ((attached < ${#args[@]} / 2 && SECONDS < deadline)); do
    sleep 0.05
    attached=$(grep -c attached "$tmp/strace.log" 2>/dev/null) || true
    attached=${attached:-0}
  done
}

# bench_strace_stop: detaches strace (it writes its summary on SIGTERM) and sets run_syscalls,
# the calls counted.
bench_strace_stop() {
  # shellcheck disable=SC2154  # strace_pid is set by start_bg
  stop_pids "$strace_pid"
  run_syscalls=$(awk '$NF == "total" { print $4 }' "$tmp/strace.out" 2>/dev/null)
}

# bench_record TOOL OUT THREADS ROUND SCENARIO TARGET [REPORT_ARG...]: appends the last
# bench_measure's run to $results (http1_report.py record) and prints its line.
bench_record() {
  "$BENCH_PYTHON" "$lib/http1_report.py" record --out "$results" --tool "$1" --stdout "$2" \
    --threads "$3" --round "$4" --scenario "$5" --target "$6" "${@:7}" \
    --cpu-ticks "$run_cpu_ticks" --backend-ticks "$run_backend_ticks" --wall-s "$run_wall_s" \
    --clk-tck "$BENCH_CLK_TCK" ${run_syscalls:+--syscalls "$run_syscalls"}
}

# bench_machine: the machine line of a report, with the load average before (load_before) and
# now.
bench_machine() {
  echo "Machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- |
    sed 's/^ //')), shared by the load generator, the backend and the proxy: compare ratios" \
    "and CPU per request, not raw rates. Load average before: $load_before, after: $(cut -d' ' -f1-3 \
    /proc/loadavg)."
}
